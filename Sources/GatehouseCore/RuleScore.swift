// RuleScore.swift — how sums of rule weights are compared with thresholds: spam scores (rules
// plus Bayes) and the policy's weighted word lists.

/// Scores are added in binary floating point, where 4.2 + 0.8 can come out as 4.999999999999999:
/// a message at exactly the threshold would be judged below it. Sums are rounded to thousandths,
/// as SpamAssassin rounds its score (`sprintf "%0.3f"`), before anything compares them.
public enum RuleScore {
    public static func sum(_ value: Double) -> Double { (value * 1000).rounded() / 1000 }
}

// Helpers shared by the Bayes tests: message literals with CRLF, fixtures on disk.
import Foundation
import Glibc
import MIME
@testable import SpamBayes

/// A message from a literal: "\n" becomes CRLF (as on the wire).
func message(_ text: String) -> [UInt8] {
    var out = [UInt8]()
    for b in text.utf8 {
        if b == 10 { out.append(13) }
        out.append(b)
    }
    return out
}

/// The tokens of a message literal.
func tokens(_ text: String, limits: BayesLimits = .default, features: BayesTokenizer.Features = .all) -> BayesTokens {
    BayesTokenizer(limits: limits, features: features).tokens(of: MIMEParser().parse(message(text)))
}

func readFile(_ path: String) -> [UInt8]? {
    FileManager.default.contents(atPath: path).map { [UInt8]($0) }
}

/// The entries of a directory as full paths, sorted.
func listDirectory(_ path: String) -> [String] {
    ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).sorted().map { path + "/" + $0 }
}

/// The directory of this test target, symlinks resolved.
let testDirectory: String = {
    let file = #filePath
    var dir = String(file[..<file.lastIndex(of: "/")!])
    if let real = realpath(dir, nil) { dir = String(cString: real); free(real) }
    return dir
}()

/// The .eml files of a fixture folder, read.
func fixtureMessages(_ folder: String) -> [[UInt8]] {
    listDirectory(testDirectory + "/Fixtures/" + folder).filter { $0.hasSuffix(".eml") }.compactMap(readFile)
}

/// A fresh temporary directory.
func temporaryDirectory() -> String {
    var template = Array("/tmp/spambayes-test.XXXXXX".utf8CString)
    let path = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
    return String(cString: path!)
}

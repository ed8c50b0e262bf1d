// URLIndex.swift — the URLs of one message, de-duplicated with one hash per URL found.
//
// What it does: URLs are found text by text (a part's plain text, or an HTML part's attributes
// and visible text). Each text's list holds its URLs once, in order of appearance; the message's
// list holds every list's URLs once, in order, up to a cap. One dictionary from URL to a number
// serves both: finding a URL hashes it once, and adding a list to the message's list hashes
// nothing (a set per text and one for the message hashed every URL two or three times).
//
// Security notes: bounded by its callers (the number of URLs per HTML part and per message are
// limits); the dictionary holds at most the URLs the lists hold.

/// The URLs of one message: the list of the current text, and what the message's list holds.
struct URLIndex {
    /// The current text's URLs, in order of appearance, without duplicates.
    private(set) var list: [String] = []
    /// The number of each URL of `list`.
    private var listNumbers: [Int] = []
    /// Every URL seen, numbered in order of first appearance.
    private var numbers: [String: Int] = [:]
    /// By number: the last list that took the URL, and whether the message's list holds it.
    private var lastList: [Int] = []
    private var inMessage: [Bool] = []
    private var currentList = 1

    /// Starts the list of another text (the previous list stays with whoever took it).
    mutating func startList() {
        currentList += 1
        list = []
        listNumbers.removeAll(keepingCapacity: true)
    }

    /// Adds `url` to the current list; false if the list holds it already.
    @discardableResult
    mutating func add(_ url: String) -> Bool {
        let fresh = lastList.count
        if fresh == 0 && numbers.isEmpty {
            // Room for a typical message's URLs at once, rather than growing (and rehashing) from one.
            numbers.reserveCapacity(64)
            lastList.reserveCapacity(64)
            inMessage.reserveCapacity(64)
        }
        // One look-up: the number of a URL seen before, or `fresh`, stored for a new one.
        let number = Self.read(&numbers[url, default: fresh])
        if number == fresh {
            lastList.append(currentList)
            inMessage.append(false)
        } else if lastList[number] == currentList {
            return false
        } else {
            lastList[number] = currentList
        }
        list.append(url)
        listNumbers.append(number)
        return true
    }

    @inline(__always) private static func read(_ value: inout Int) -> Int { value }

    /// Appends to `messageURLs` the current list's URLs it does not hold yet, in order, while it
    /// holds fewer than `limit`; false if some URL did not fit.
    mutating func addList(to messageURLs: inout [String], limit: Int) -> Bool {
        for (k, number) in listNumbers.enumerated() where !inMessage[number] {
            if messageURLs.count >= limit { return false }
            inMessage[number] = true
            messageURLs.append(list[k])
        }
        return true
    }
}

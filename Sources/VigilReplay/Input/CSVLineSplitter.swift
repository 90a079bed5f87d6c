// RFC 4180 fields of one CSV line (quotes, doubled quotes inside quotes; no line breaks in fields).

enum CSVLineSplitter {
    /// Splits `line` into fields, reusing `fields`. Returns nil for an unterminated quote.
    static func split(_ line: Span<UInt8>, into fields: inout [String]) -> Bool {
        fields.removeAll(keepingCapacity: true)
        var i = 0
        let n = line.count
        var field: [UInt8] = []
        while true {
            field.removeAll(keepingCapacity: true)
            if i < n, line[i] == UInt8(ascii: "\"") {
                i += 1
                var closed = false
                while i < n {
                    let c = line[i]
                    if c == UInt8(ascii: "\"") {
                        if i + 1 < n, line[i + 1] == UInt8(ascii: "\"") { field.append(c); i += 2; continue }
                        i += 1
                        closed = true
                        break
                    }
                    field.append(c)
                    i += 1
                }
                guard closed, i == n || line[i] == UInt8(ascii: ",") else { return false }
                fields.append(String(decoding: field, as: UTF8.self))
            } else {
                let start = i
                while i < n, line[i] != UInt8(ascii: ",") { i += 1 }
                fields.append(String(utf8: line.extracting(start..<i)))
            }
            if i >= n { return true }
            i += 1  // the comma
            if i == n { fields.append(""); return true }
        }
    }
}

/// Calls `body` with each line of `bytes` (without its `\n` or `\r\n`) and its 1-based number.
func forEachLine(_ bytes: Span<UInt8>, _ body: (Span<UInt8>, Int) throws -> Void) throws {
    var start = 0, number = 0
    let n = bytes.count
    while start < n {
        let end = bytes.firstIndex(of: 0x0A, in: start..<n) ?? n
        number += 1
        var stop = end
        if stop > start, bytes[stop - 1] == 0x0D { stop -= 1 }
        try body(bytes.extracting(start..<stop), number)
        start = end + 1
    }
}

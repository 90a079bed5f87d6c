// Reads Chromium's screenshots: 8-bit RGB or RGBA PNG, not interlaced. Foundation on Linux has
// no image decoding, so the browser test carries this small PNG reader and inflate (RFC 1951).
import Foundation

struct PNGImage {
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    let width: Int
    let height: Int
    /// Bytes per pixel: 3 (RGB) or 4 (RGBA).
    let channels: Int
    /// Row-major, `channels` bytes per pixel, no filter bytes.
    let pixels: [UInt8]

    init(_ data: [UInt8]) throws {
        guard data.count > 8, data[0..<8] == [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] else { throw Failure(description: "not a PNG") }
        var offset = 8, header: [UInt8] = [], compressed: [UInt8] = []
        func be32(_ at: Int) -> Int { data[at..<at + 4].reduce(0) { $0 << 8 | Int($1) } }
        while offset + 8 <= data.count {
            let length = be32(offset), type = String(decoding: data[offset + 4..<offset + 8], as: UTF8.self)
            let body = Array(data[offset + 8..<offset + 8 + length])
            if type == "IHDR" { header = body }
            if type == "IDAT" { compressed += body }
            if type == "IEND" { break }
            offset += 12 + length
        }
        guard header.count == 13 else { throw Failure(description: "no IHDR") }
        width = header[0..<4].reduce(0) { $0 << 8 | Int($1) }
        height = header[4..<8].reduce(0) { $0 << 8 | Int($1) }
        guard header[8] == 8, header[12] == 0, header[9] == 2 || header[9] == 6 else {
            throw Failure(description: "only 8-bit RGB(A) without interlacing (bit depth \(header[8]), colour type \(header[9]))")
        }
        channels = header[9] == 2 ? 3 : 4
        var inflater = Inflater(Array(compressed.dropFirst(2)))  // the zlib header
        let filtered = try inflater.inflate()
        pixels = try Self.unfilter(filtered, width: width, height: height, channels: channels)
    }

    func rgb(_ x: Int, _ y: Int) -> (UInt8, UInt8, UInt8) {
        let i = (y * width + x) * channels
        return (pixels[i], pixels[i + 1], pixels[i + 2])
    }

    /// Undoes PNG's per-row filters (none, sub, up, average, Paeth).
    static func unfilter(_ data: [UInt8], width: Int, height: Int, channels: Int) throws -> [UInt8] {
        let stride = width * channels
        guard data.count >= height * (stride + 1) else { throw Failure(description: "short image data") }
        var out = [UInt8](repeating: 0, count: height * stride)
        out.withUnsafeMutableBufferPointer { o in
            data.withUnsafeBufferPointer { d in
                for y in 0..<height {
                    let filter = d[y * (stride + 1)], row = y * (stride + 1) + 1, at = y * stride
                    for i in 0..<stride {
                        let a = i >= channels ? Int(o[at + i - channels]) : 0
                        let b = y > 0 ? Int(o[at + i - stride]) : 0
                        let c = y > 0 && i >= channels ? Int(o[at + i - stride - channels]) : 0
                        let predictor: Int
                        switch filter {
                        case 1: predictor = a
                        case 2: predictor = b
                        case 3: predictor = (a + b) / 2
                        case 4:
                            let p = a + b - c, pa = abs(p - a), pb = abs(p - b), pc = abs(p - c)
                            predictor = pa <= pb && pa <= pc ? a : (pb <= pc ? b : c)
                        default: predictor = 0
                        }
                        o[at + i] = UInt8(truncatingIfNeeded: Int(d[row + i]) + predictor)
                    }
                }
            }
        }
        return out
    }
}

/// Raw deflate decoding after Mark Adler's puff: canonical Huffman codes read a bit at a time.
struct Inflater {
    private let input: [UInt8]
    private var position = 0, bitBuffer = 0, bitCount = 0
    private var output: [UInt8] = []

    init(_ input: [UInt8]) { self.input = input }

    struct Huffman {
        var counts = [Int](repeating: 0, count: 16)
        var symbols: [Int] = []
        init(lengths: [Int]) {
            for l in lengths { counts[l] += 1 }
            counts[0] = 0
            var offsets = [Int](repeating: 0, count: 16)
            for l in 1..<15 { offsets[l + 1] = offsets[l] + counts[l] }
            symbols = [Int](repeating: 0, count: lengths.count)
            for (symbol, l) in lengths.enumerated() where l > 0 {
                symbols[offsets[l]] = symbol
                offsets[l] += 1
            }
        }
    }

    static let lengthBase = [3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258]
    static let lengthExtra = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0]
    static let distanceBase = [1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073,
                               4097, 6145, 8193, 12289, 16385, 24577]
    static let distanceExtra = [0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13]

    mutating func bits(_ n: Int) throws -> Int {
        while bitCount < n {
            guard position < input.count else { throw PNGImage.Failure(description: "deflate data ends early") }
            bitBuffer |= Int(input[position]) << bitCount
            position += 1
            bitCount += 8
        }
        let v = bitBuffer & ((1 << n) - 1)
        bitBuffer >>= n
        bitCount -= n
        return v
    }

    mutating func decode(_ h: Huffman) throws -> Int {
        var code = 0, first = 0, index = 0
        for length in 1...15 {
            code |= try bits(1)
            let count = h.counts[length]
            if code - count < first { return h.symbols[index + code - first] }
            index += count
            first = (first + count) << 1
            code <<= 1
        }
        throw PNGImage.Failure(description: "bad Huffman code")
    }

    mutating func inflate() throws -> [UInt8] {
        var last = false
        while !last {
            last = try bits(1) == 1
            switch try bits(2) {
            case 0:
                bitBuffer = 0
                bitCount = 0
                guard position + 4 <= input.count else { throw PNGImage.Failure(description: "short stored block") }
                let length = Int(input[position]) | Int(input[position + 1]) << 8
                position += 4
                output += input[position..<position + length]
                position += length
            case 1:
                let lengths = [Int](repeating: 8, count: 144) + [Int](repeating: 9, count: 112) + [Int](repeating: 7, count: 24) + [Int](repeating: 8, count: 8)
                try codes(Huffman(lengths: lengths), Huffman(lengths: [Int](repeating: 5, count: 30)))
            case 2:
                let literals = try bits(5) + 257, distances = try bits(5) + 1, codeLengths = try bits(4) + 4
                var lengths = [Int](repeating: 0, count: 19)
                for i in 0..<codeLengths { lengths[[16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15][i]] = try bits(3) }
                let lengthCode = Huffman(lengths: lengths)
                var all: [Int] = []
                while all.count < literals + distances {
                    let symbol = try decode(lengthCode)
                    switch symbol {
                    case 0..<16: all.append(symbol)
                    case 16:
                        guard let previous = all.last else { throw PNGImage.Failure(description: "repeat with nothing before") }
                        all += [Int](repeating: previous, count: 3 + (try bits(2)))
                    case 17: all += [Int](repeating: 0, count: 3 + (try bits(3)))
                    default: all += [Int](repeating: 0, count: 11 + (try bits(7)))
                    }
                }
                try codes(Huffman(lengths: Array(all[..<literals])), Huffman(lengths: Array(all[literals..<(literals + distances)])))
            default:
                throw PNGImage.Failure(description: "bad block type")
            }
        }
        return output
    }

    mutating func codes(_ literal: Huffman, _ distance: Huffman) throws {
        while true {
            let symbol = try decode(literal)
            if symbol < 256 {
                output.append(UInt8(symbol))
            } else if symbol == 256 {
                return
            } else {
                let s = symbol - 257
                guard s < 29 else { throw PNGImage.Failure(description: "bad length code") }
                let length = Self.lengthBase[s] + (try bits(Self.lengthExtra[s]))
                let d = try decode(distance)
                guard d < 30 else { throw PNGImage.Failure(description: "bad distance code") }
                let back = Self.distanceBase[d] + (try bits(Self.distanceExtra[d]))
                guard back <= output.count else { throw PNGImage.Failure(description: "distance too far back") }
                let from = output.count - back
                for i in 0..<length { output.append(output[from + i]) }
            }
        }
    }
}

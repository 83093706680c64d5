import Testing
@testable import BitcoinWire
@Test func placeholder() { #expect(Hash256.zero == .zero) }

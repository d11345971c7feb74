import Synchronization

/// The time and counter of the last event id made, shared by every thread that makes ids.
///
/// Both fit in one atomic word, updated by compare-and-exchange: the 12-bit counter in the low
/// bits, epoch milliseconds above it. Workers make a dozen ids per execution, and a `Mutex`
/// here cost a sleep in the kernel each time two of them met, since a contended `Mutex` on
/// Linux is a priority-inheritance futex.
public final class EventIDSequence: Sendable {
    /// The sequence behind `EventID.make`.
    public static let shared = EventIDSequence()

    private static let counterBits: UInt64 = 12
    private static let counterMask: UInt64 = 0x0FFF
    /// UUIDv7 carries 48 bits of milliseconds, enough until the year 10889.
    private static let latestMilliseconds: Int64 = 0xFFFF_FFFF_FFFF

    private let state = Atomic<UInt64>(0)

    public init() {}

    /// Returns the timestamp and counter of the next id for the time `milliseconds` (epoch ms,
    /// clamped to 0 ... 2^48 - 1). A time past the last id's starts at `firstCounter` (below
    /// 4,096). Otherwise the last id's counter goes up by one, and once it is full, the next
    /// millisecond starts at `firstCounter`. So the pairs only increase.
    public func next(milliseconds: Int64, firstCounter: UInt16) -> (timestamp: UInt64, counter: UInt16) {
        let requested = UInt64(min(max(milliseconds, 0), Self.latestMilliseconds))
        let first = UInt64(firstCounter) & Self.counterMask

        var current = state.load(ordering: .relaxed)
        while true {
            let last = current >> Self.counterBits
            let next: UInt64
            if requested > last {
                next = requested << Self.counterBits | first
            } else if current & Self.counterMask < Self.counterMask {
                next = current + 1
            } else {
                next = (last + 1) << Self.counterBits | first
            }
            let (exchanged, original) = state.compareExchange(expected: current, desired: next, ordering: .relaxed)
            if exchanged {
                return (next >> Self.counterBits, UInt16(next & Self.counterMask))
            }
            current = original
        }
    }
}

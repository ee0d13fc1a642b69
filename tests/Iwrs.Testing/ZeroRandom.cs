using Iwrs.Domain.Supply;

namespace Iwrs.Testing;

/// <summary>
/// A random source that always draws 0: for tests whose expected answer would otherwise depend on a draw they do not
/// test (a resupply composition's tie-breaks then keep the kit types' order).
/// </summary>
public sealed class ZeroRandom : IRandomSource
{
    public static ZeroRandom Instance { get; } = new();

    public int Next(int maxExclusive)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxExclusive, 1);
        return 0;
    }
}

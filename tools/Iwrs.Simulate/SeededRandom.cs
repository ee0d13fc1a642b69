using Iwrs.Domain.Supply;

namespace Iwrs.Simulate;

/// <summary>
/// A small seeded generator (SplitMix64) so every simulated trial is reproducible from (seed, run, stream) on any
/// machine and any thread count. System.Random is banned in this repository; the product's own draws come from a
/// cryptographically sound source, which a simulation does not need.
/// </summary>
internal sealed class SeededRandom : IRandomSource
{
    private ulong _state;

    public SeededRandom(ulong seed, ulong run, ulong stream)
    {
        _state = Mix(Mix(Mix(seed) ^ run) ^ stream);
    }

    /// <summary>The SplitMix64 finalizer: a bijective mix of 64 bits.</summary>
    public static ulong Mix(ulong z)
    {
        unchecked
        {
            z += 0x9E3779B97F4A7C15UL;
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
            return z ^ (z >> 31);
        }
    }

    public ulong NextUInt64()
    {
        unchecked
        {
            _state += 0x9E3779B97F4A7C15UL;
            var z = _state;
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
            return z ^ (z >> 31);
        }
    }

    /// <summary>Uniform in [0, 1) with 53 bits.</summary>
    public double NextDouble() => (NextUInt64() >> 11) * (1.0 / (1UL << 53));

    /// <summary>Uniform in 0 … <paramref name="maxExclusive"/> − 1, without modulo bias (rejection).</summary>
    public int Next(int maxExclusive)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxExclusive, 1);
        var n = (ulong)maxExclusive;
        var limit = ulong.MaxValue - (ulong.MaxValue % n);
        while (true)
        {
            var x = NextUInt64();
            if (x < limit)
            {
                return (int)(x % n);
            }
        }
    }

    /// <summary>Uniform in <paramref name="min"/> … <paramref name="max"/>, both included.</summary>
    public int Between(int min, int max) => min + Next(max - min + 1);

    public bool Chance(double p) => NextDouble() < p;

    /// <summary>A Poisson count (Knuth's product of uniforms: exact, and fast for the small daily means used here).</summary>
    public int Poisson(double mean)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(mean);
        var limit = Math.Exp(-mean);
        var k = 0;
        var p = NextDouble();
        while (p > limit)
        {
            k++;
            p *= NextDouble();
        }

        return k;
    }

    public void Fill(Span<byte> bytes)
    {
        for (var i = 0; i < bytes.Length; i++)
        {
            bytes[i] = (byte)(NextUInt64() >> 56);
        }
    }
}

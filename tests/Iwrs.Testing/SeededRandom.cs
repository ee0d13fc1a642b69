using System.Buffers.Binary;
using System.Security.Cryptography;
using Iwrs.Domain.Supply;

namespace Iwrs.Testing;

/// <summary>
/// A reproducible random source for tests — the same seed, the same draws — from an HMAC-SHA256 counter stream
/// (System.Random is banned in this repository), uniform by rejection sampling.
/// </summary>
public sealed class SeededRandom(int seed) : IRandomSource
{
    private readonly byte[] _key = SHA256.HashData(BitConverter.GetBytes(seed));
    private readonly byte[] _block = new byte[HMACSHA256.HashSizeInBytes];
    private readonly Lock _gate = new();
    private long _counter;
    private int _offset = HMACSHA256.HashSizeInBytes;

    public int Next(int maxExclusive)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxExclusive, 1);
        var limit = uint.MaxValue - (uint.MaxValue % (uint)maxExclusive);
        lock (_gate)
        {
            while (true)
            {
                if (_offset == _block.Length)
                {
                    HMACSHA256.HashData(_key, BitConverter.GetBytes(_counter++), _block);
                    _offset = 0;
                }

                var value = BinaryPrimitives.ReadUInt32LittleEndian(_block.AsSpan(_offset, 4));
                _offset += 4;
                if (value < limit)
                {
                    return (int)(value % (uint)maxExclusive);
                }
            }
        }
    }
}

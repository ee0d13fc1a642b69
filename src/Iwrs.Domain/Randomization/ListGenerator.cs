using System.Buffers.Binary;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Iwrs.Domain.Studies;

namespace Iwrs.Domain.Randomization;

/// <summary>
/// Generates a stratified permuted-block randomization list from a secret seed, reproducibly: the same seed
/// and the same configuration give a byte-identical <see cref="RandomizationList.CanonicalText"/> on any
/// machine, so an auditor who is later given the seed can regenerate the list and check it against the
/// commitment published before the first randomization.
/// </summary>
/// <remarks>
/// <para>Algorithm <c>iwrs-pbr-hmac-sha256-v1</c>, precisely:</para>
/// <list type="number">
/// <item>Inputs: <c>seed</c> (at least 32 bytes, used as given), <c>slotsPerStratum</c> N (1 to 10,000), the
/// arms (code and ratio, configuration order; R = sum of ratios), the block sizes (configuration order; every
/// size is a multiple of R), and the strata in <see cref="Strata.All"/> order.</item>
/// <item>Each stratum s has its own random stream, independent of every other stratum. Output block i
/// (i = 0, 1, 2, …) of the stream is <c>HMAC-SHA256(key = seed, message = UTF-8("iwrs-pbr-hmac-sha256-v1|" +
/// s.Key + "|" + i))</c>, i written in decimal (invariant, no sign, no leading zeros). The stream is the
/// concatenation of blocks 0, 1, 2, … (32 bytes each).</item>
/// <item>A draw takes the next 4 unused bytes of the stream as an unsigned 32-bit big-endian integer x.
/// Every draw consumes exactly 4 bytes, whether or not it is rejected.</item>
/// <item>uniform(n), for n ≥ 1: let L = 2^32 − (2^32 mod n); draw x until x &lt; L; return x mod n. (n = 1
/// still consumes one draw.)</item>
/// <item>For each stratum: position p = 0, block number b = 0. While p &lt; N: b += 1; size =
/// blockSizes[uniform(number of block sizes)]; contents = for each arm in configuration order, the arm's
/// code repeated ratio × size / R times; shuffle contents by Fisher–Yates: for j from size − 1 down to 1,
/// k = uniform(j + 1), swap contents[j] and contents[k]; append the slots (stratum, p + 1 …, b, size, arm)
/// in contents order; p += size.</item>
/// </list>
/// <para>Every block is complete and balanced to the ratio, so a stratum holds at least N slots and fewer than
/// N + (largest block size) slots: the list may exceed <c>slotsPerStratum</c> by less than one block. That excess
/// depends on the secret block sizes, so a blinded study uses only N slots of each stratum
/// (<see cref="RandomizationList.PublicSlotsPerStratum"/>, <see cref="ListCapacity"/>).</para>
/// <para>HMAC-SHA256 keyed with a secret seed is a pseudorandom function (the construction of the NIST SP
/// 800-90A HMAC_DRBG), so nobody without the seed can predict the next allocation; rejection sampling
/// removes the modulo bias a plain <c>x mod n</c> would have.</para>
/// </remarks>
public static class ListGenerator
{
    public const string Algorithm = "iwrs-pbr-hmac-sha256-v1";

    /// <summary>256 bits: the HMAC-SHA256 output size, so the seed is never the weak link.</summary>
    public const int MinimumSeedBytes = 32;

    public const int MaxSlotsPerStratum = 10_000;

    public static Result<RandomizationList> Generate(StudyConfiguration study, ReadOnlySpan<byte> seed, int slotsPerStratum)
    {
        ArgumentNullException.ThrowIfNull(study);
        var scheme = study.Randomization;
        if (scheme is null)
        {
            return Strata.NotApplicable(study);
        }

        var strata = Strata.All(study);
        var errors = new List<FieldError>();
        if (seed.Length < MinimumSeedBytes)
        {
            errors.Add(new FieldError("seed", $"must be at least {MinimumSeedBytes} bytes; it has {seed.Length}."));
        }

        if (slotsPerStratum < 1 || slotsPerStratum > MaxSlotsPerStratum)
        {
            errors.Add(new FieldError("slotsPerStratum", $"must be between 1 and {MaxSlotsPerStratum}."));
        }
        else if ((long)slotsPerStratum * strata.Count > RandomizationList.MaxSlots)
        {
            errors.Add(new FieldError("slotsPerStratum", $"{slotsPerStratum} slots in each of {strata.Count} strata exceed the {RandomizationList.MaxSlots} slots a list may hold."));
        }

        if (errors.Count > 0)
        {
            return DomainError.Validation(errors, "The randomization list cannot be generated.");
        }

        var key = seed.ToArray();
        try
        {
            var ratioSum = study.Arms.Sum(a => a.Ratio);
            var slots = new List<ListSlot>();
            foreach (var stratum in strata)
            {
                var stream = new StratumStream(key, stratum.Key);
                var position = 0;
                var blockNumber = 0;
                while (position < slotsPerStratum)
                {
                    blockNumber++;
                    var size = scheme.BlockSizes[stream.Uniform(scheme.BlockSizes.Count)];
                    var contents = new List<string>(size);
                    foreach (var arm in study.Arms)
                    {
                        contents.AddRange(Enumerable.Repeat(arm.Code, arm.Ratio * size / ratioSum));
                    }

                    for (var j = size - 1; j >= 1; j--)
                    {
                        var k = stream.Uniform(j + 1);
                        (contents[j], contents[k]) = (contents[k], contents[j]);
                    }

                    foreach (var arm in contents)
                    {
                        position++;
                        slots.Add(new ListSlot(stratum.Key, position, blockNumber, size, arm));
                    }
                }
            }

            // Whole blocks can overshoot the pre-check by up to one block per stratum; a list above the limit
            // could not be exported and imported again.
            if (slots.Count > RandomizationList.MaxSlots)
            {
                return DomainError.Validation(
                    [new FieldError("slotsPerStratum", $"the list would hold {slots.Count} slots, more than the {RandomizationList.MaxSlots} a list may hold.")],
                    "The randomization list cannot be generated.");
            }

            return RandomizationList.Create(slots, RandomizationList.GeneratedSource, slotsPerStratum);
        }
        finally
        {
            // The seed is the key to the blind; don't leave a copy of it lying in the heap.
            CryptographicOperations.ZeroMemory(key);
        }
    }

    /// <summary>The per-stratum HMAC-SHA256 counter stream described on <see cref="ListGenerator"/>.</summary>
    private sealed class StratumStream(byte[] key, string stratumKey)
    {
        private const ulong TwoTo32 = 1UL << 32;

        private readonly byte[] _key = key;
        private readonly string _prefix = Algorithm + "|" + stratumKey + "|";
        private readonly byte[] _block = new byte[HMACSHA256.HashSizeInBytes];
        private ulong _counter;
        private int _offset = HMACSHA256.HashSizeInBytes;

        public int Uniform(int n)
        {
            var limit = TwoTo32 - (TwoTo32 % (ulong)n);
            while (true)
            {
                ulong x = NextUInt32();
                if (x < limit)
                {
                    return (int)(x % (ulong)n);
                }
            }
        }

        private uint NextUInt32()
        {
            if (_offset == _block.Length)
            {
                var message = Encoding.UTF8.GetBytes(_prefix + _counter.ToString(CultureInfo.InvariantCulture));
                HMACSHA256.HashData(_key, message, _block);
                _counter++;
                _offset = 0;
            }

            var x = BinaryPrimitives.ReadUInt32BigEndian(_block.AsSpan(_offset, 4));
            _offset += 4;
            return x;
        }
    }
}

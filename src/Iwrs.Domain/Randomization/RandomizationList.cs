using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Iwrs.Domain.Randomization;

/// <summary>One row of the randomization list. Position and block number count from 1 within the stratum.</summary>
public sealed record ListSlot(string StratumKey, int Position, int BlockNumber, int BlockSize, string ArmCode);

/// <summary>
/// A complete randomization list. Only <see cref="ListGenerator"/> and <see cref="ListImport"/> build one, after
/// checking every rule, so holding a list means holding a valid one.
/// <para>
/// <see cref="CanonicalText"/> is the list as CSV, written the same way whatever produced it: the header
/// <c>stratum,position,block,blockSize,arm</c>, then one line per slot in <see cref="Slots"/> order (strata in
/// <see cref="Strata.All"/> order, positions ascending), fields unquoted (every value is an identifier or a
/// decimal integer without sign or leading zeros), every line including the last ending in a single '\n'.
/// <see cref="Commitment"/> is the lowercase hex SHA-256 of that text in UTF-8: published before the first
/// subject is randomized, it lets anyone verify afterwards that the list used is the list committed to.
/// </para>
/// </summary>
public sealed record RandomizationList
{
    /// <summary>Upper bound on slots in one list, generated or imported: about 8 MB of canonical text.</summary>
    public const int MaxSlots = 200_000;

    public const string Header = "stratum,position,block,blockSize,arm";

    public const string GeneratedSource = "generated";

    public const string ImportedSource = "imported";

    private readonly Dictionary<string, IReadOnlyList<ListSlot>> _byStratum;

    private RandomizationList(IReadOnlyList<ListSlot> slots, string source, int publicSlotsPerStratum)
    {
        Slots = slots;
        Source = source;
        PublicSlotsPerStratum = publicSlotsPerStratum;
        _byStratum = slots
            .GroupBy(s => s.StratumKey, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => (IReadOnlyList<ListSlot>)g.ToList(), StringComparer.Ordinal);

        var text = new StringBuilder(Header.Length + 1 + (slots.Count * 40));
        text.Append(Header).Append('\n');
        foreach (var slot in slots)
        {
            text.Append(slot.StratumKey).Append(',')
                .Append(slot.Position.ToString(CultureInfo.InvariantCulture)).Append(',')
                .Append(slot.BlockNumber.ToString(CultureInfo.InvariantCulture)).Append(',')
                .Append(slot.BlockSize.ToString(CultureInfo.InvariantCulture)).Append(',')
                .Append(slot.ArmCode).Append('\n');
        }

        CanonicalText = text.ToString();
        Commitment = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(CanonicalText)));
    }

    /// <summary>Ordered by stratum (in <see cref="Strata.All"/> order), then position.</summary>
    public IReadOnlyList<ListSlot> Slots { get; }

    /// <summary>
    /// The slots per stratum that were asked for (generated: <c>slotsPerStratum</c>; imported: <c>minimumSlotsPerStratum</c>):
    /// a public number, at most every stratum's length. A stratum's length is a sum of secret random block sizes, so in a
    /// blinded study a stratum is exhausted after this many subjects, never at its length (<see cref="ListCapacity"/>).
    /// Not part of <see cref="CanonicalText"/>: the list and its commitment keep their whole blocks.
    /// </summary>
    public int PublicSlotsPerStratum { get; }

    /// <summary><c>generated</c> or <c>imported</c>.</summary>
    public string Source { get; }

    public string CanonicalText { get; }

    /// <summary>
    /// The SHA-256 of <see cref="CanonicalText"/>: the list's identity in storage. Never shown to blinded readers: a
    /// small list can be guessed and hashed (attacker review), so what they see is <see cref="SaltedCommitment"/>.
    /// </summary>
    public string Commitment { get; }

    /// <summary>
    /// What the audit trail publishes: HMAC-SHA256 of <paramref name="canonicalText"/> keyed by a random 32-byte salt
    /// drawn at activation. Without the salt nobody can test a guessed list against it; the salt is given to unblinded
    /// roles with the list (summary, export), and then anyone holding the exported list can recompute it.
    /// </summary>
    public static string SaltedCommitment(byte[] salt, string canonicalText)
    {
        ArgumentNullException.ThrowIfNull(salt);
        ArgumentNullException.ThrowIfNull(canonicalText);
        return Convert.ToHexStringLower(HMACSHA256.HashData(salt, Encoding.UTF8.GetBytes(canonicalText)));
    }

    /// <summary>The stratum's slots by position; empty for a key that is not in the list.</summary>
    public IReadOnlyList<ListSlot> ForStratum(string stratumKey) =>
        _byStratum.TryGetValue(stratumKey, out var slots) ? slots : [];

    /// <summary>Two lists are equal when they hold the same slots and came the same way.</summary>
    public bool Equals(RandomizationList? other) =>
        other is not null && Source == other.Source && CanonicalText == other.CanonicalText;

    public override int GetHashCode() => HashCode.Combine(Source, Commitment);

    /// <summary>
    /// Says how big the list is and what it commits to, never which arm is where: a list that ends up in a log
    /// line or an exception message must not unblind anyone.
    /// </summary>
    public override string ToString() =>
        $"RandomizationList {{ Source = {Source}, Slots = {Slots.Count.ToString(CultureInfo.InvariantCulture)}, Commitment = {Commitment} }}";

    /// <summary>The caller has checked every rule; slots must already be in stratum, then position, order.</summary>
    internal static RandomizationList Create(IReadOnlyList<ListSlot> slots, string source, int publicSlotsPerStratum) => new(slots, source, publicSlotsPerStratum);
}

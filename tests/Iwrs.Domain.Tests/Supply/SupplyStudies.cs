using System.Globalization;
using System.Security.Cryptography;
using Iwrs.Domain.Studies;
using Iwrs.Domain.Supply;
using Iwrs.Domain.Tests.Studies;

namespace Iwrs.Domain.Tests.Supply;

/// <summary>Seed studies, a fixed "today" and kit-list builders the supply tests share.</summary>
internal static class SupplyStudies
{
    public const string Lj = "LJ-CAPS";
    public const string Pbo = "PBO-CAPS";
    public const string Akk = "AKK-CAPS";

    /// <summary>Blinded, randomized 1:1; kit types LJ-CAPS and PBO-CAPS; supply 2 / 6 / 5 days / 7 DND.</summary>
    public static StudyConfiguration LjStudy { get; } = StudyFiles.Valid(StudyFiles.Lj);

    /// <summary>Single-arm, open-label; one kit type AKK-CAPS; supply 2 / 5 / 5 days / 7 DND.</summary>
    public static StudyConfiguration AkkStudy { get; } = StudyFiles.Valid(StudyFiles.Akk);

    public static DateOnly Today { get; } = new(2026, 3, 1);

    /// <summary>An expiry comfortably in the future, as the depot writes it.</summary>
    public const string GoodExpiry = "2027-06-30";

    private const string KitAlphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789";

    public static KitLine Line(string? kitNumber, string? kitType = Lj, string? lot = "LOT-1", string? expiry = GoodExpiry) =>
        new(kitNumber, kitType, lot, expiry);

    public static string Number(string prefix, int i) => prefix + i.ToString("D4", CultureInfo.InvariantCulture);

    /// <summary>
    /// A list numbered by type, the way a careless depot would: <paramref name="perType"/> kits of each type, the
    /// first type numbered A0000…, the second B0000…, and so on.
    /// </summary>
    public static List<KitLine> NumberedByType(int perType, params string[] types) =>
        types.SelectMany((type, t) => Enumerable.Range(0, perType).Select(i => Line(Number(((char)('A' + t)).ToString(), i), type))).ToList();

    /// <summary><paramref name="perType"/> kits of each type, every kit number drawn at random (10 characters, unique).</summary>
    public static List<KitLine> RandomlyNumbered(int perType, params string[] types)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var lines = new List<KitLine>();
        foreach (var type in types)
        {
            for (var i = 0; i < perType; i++)
            {
                string number;
                do
                {
                    number = RandomNumberGenerator.GetString(KitAlphabet, 10);
                }
                while (!seen.Add(number));

                lines.Add(Line(number, type));
            }
        }

        return lines;
    }

    public static Kit KitOf(string number, string type) =>
        new(number, type, "LOT-1", new DateOnly(2027, 6, 30), KitStatus.AtDepot, Kit.Depot, null, null, null);

    /// <summary>The field paths of a validation failure, in order.</summary>
    public static string[] Fields<T>(Result<T> result)
    {
        Assert.False(result.IsSuccess, "Expected a failure.");
        Assert.Equal("validation-failed", result.Error!.Code);
        Assert.NotNull(result.Error.Errors);
        Assert.All(result.Error.Errors, e => Assert.False(string.IsNullOrWhiteSpace(e.Reason)));
        return result.Error.Errors.Select(e => e.Field).ToArray();
    }
}

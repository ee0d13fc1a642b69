using Iwrs.Domain.Audit;

namespace Iwrs.Domain.Tests.Audit;

/// <summary>Builds audit chains for the tests.</summary>
internal static class AuditChain
{
    public const string Study = "LJ-MCRC";

    public static readonly DateTimeOffset Start = new(2025, 3, 1, 8, 30, 0, TimeSpan.Zero);

    public static AuditEntry Entry(int n = 1) => new(
        "user-" + n,
        "site-coordinator",
        Channel.Http,
        "subject.randomize",
        "subject/S-" + n,
        [new AuditChange("status", "registered", "randomized"), new AuditChange("arm", null, "LJ", Unblinded: true)],
        "Eligible.");

    public static List<AuditRecord> Build(int count)
    {
        var records = new List<AuditRecord>();
        var previous = AuditRecord.GenesisHash;
        for (var i = 0; i < count; i++)
        {
            var record = AuditRecord.Append(Study, i, previous, Start.AddMinutes(i), Entry(i + 1));
            records.Add(record);
            previous = record.Hash;
        }

        return records;
    }

    public static AuditVerification Verify(IEnumerable<AuditRecord> records, IReadOnlyList<AuditRecord> original) =>
        AuditVerification.Verify(records, original[^1].Sequence, original[^1].Hash);
}

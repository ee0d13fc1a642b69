using Azure.Data.Tables;

namespace Iwrs.Storage.Stores;

/// <summary>
/// The rows every randomization reads and moves, kept under one row-key prefix (<c>state|</c>) so that one range read
/// brings them all: the audit chain head, the active list, the subject-number sequence and each stratum's next
/// position, and the sites on supply hold. How many there are depends on the study's design (one pointer per stratum), never on how many subjects
/// it has. Each row keeps its own ETag, so the write guards each one as before.
/// </summary>
public sealed record RandomizationState(AuditTrail.Head Head, ListRows.ActiveList? List, Counter SubjectNumbers, IReadOnlyDictionary<string, ListRows.Pointer> Pointers, IReadOnlyDictionary<string, SupplyHoldRows.Hold> Holds)
{
    public const string Prefix = "state|";

    public ListRows.Pointer PointerFor(string stratumKey) => Pointers.GetValueOrDefault(stratumKey) ?? new ListRows.Pointer(1, null);

    public static async Task<RandomizationState> ReadAsync(TableClient table, string studyId, CancellationToken ct)
    {
        AuditTrail.Head? head = null;
        ListRows.ActiveList? list = null;
        Counter? numbers = null;
        var pointers = new Dictionary<string, ListRows.Pointer>(StringComparer.Ordinal);
        var holds = new Dictionary<string, SupplyHoldRows.Hold>(StringComparer.Ordinal);
        await foreach (var row in table.QueryPrefixAsync(studyId, Prefix, ct))
        {
            switch (row.RowKey)
            {
                case AuditTrail.HeadRowKey:
                    head = AuditTrail.HeadFrom(row);
                    break;
                case ListRows.ListKey:
                    list = ListRows.ActiveFrom(row);
                    break;
                case SubjectRows.CounterKey:
                    numbers = Counter.From(row);
                    break;
                case var key when key.StartsWith(ListRows.PointerPrefix, StringComparison.Ordinal):
                    pointers[key[ListRows.PointerPrefix.Length..]] = ListRows.PointerFrom(row);
                    break;
                case var key when key.StartsWith(SupplyHoldRows.Prefix, StringComparison.Ordinal):
                    var hold = SupplyHoldRows.FromEntity(row);
                    holds[hold.SiteId] = hold;
                    break;
            }
        }

        return new RandomizationState(
            head ?? AuditTrail.Head.Genesis,
            list,
            numbers ?? new Counter(SubjectRows.CounterKey, 1, null),
            pointers,
            holds);
    }
}

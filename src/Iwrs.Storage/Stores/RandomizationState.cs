using Azure.Data.Tables;

namespace Iwrs.Storage.Stores;

/// <summary>
/// The rows every randomization reads and moves, kept under one row-key prefix (<c>state|</c>) so that one range read
/// brings them all: the audit chain head, the active list, the subject-number sequence and each stratum's next
/// position, the sites on supply hold, and the study's own row (its configuration). How many there are depends on the study's design (one pointer per stratum), never on how many subjects
/// it has. Each row keeps its own ETag, so the write guards each one as before.
/// </summary>
public sealed record RandomizationState(AuditTrail.Head Head, ListRows.ActiveList? List, Counter SubjectNumbers, IReadOnlyDictionary<string, ListRows.Pointer> Pointers, IReadOnlyDictionary<string, SupplyHoldRows.Hold> Holds, TableEntity? StudyRow = null)
{
    public const string Prefix = "state|";

    /// <summary>
    /// Only in a view: each site's shelf as it stood at <see cref="Head"/>, as this instance read it and then changed
    /// it with its own commits. Whatever else changes a shelf moves the head, so a decision from it commits only while
    /// it is still true.
    /// </summary>
    public IReadOnlyDictionary<string, IReadOnlyList<KitRows.ShelfEntry>> Shelves { get; init; } = new Dictionary<string, IReadOnlyList<KitRows.ShelfEntry>>(StringComparer.Ordinal);

    /// <summary>Only in a view: for a stratum, the slots from its pointer on that this instance read ahead, as they stood at <see cref="Head"/>.</summary>
    public IReadOnlyDictionary<string, IReadOnlyList<ListRows.StoredSlot>> Slots { get; init; } = new Dictionary<string, IReadOnlyList<ListRows.StoredSlot>>(StringComparer.Ordinal);

    public ListRows.Pointer PointerFor(string stratumKey) => Pointers.GetValueOrDefault(stratumKey) ?? new ListRows.Pointer(1, null);

    public static async Task<RandomizationState> ReadAsync(TableClient table, string studyId, CancellationToken ct)
    {
        AuditTrail.Head? head = null;
        ListRows.ActiveList? list = null;
        Counter? numbers = null;
        var pointers = new Dictionary<string, ListRows.Pointer>(StringComparer.Ordinal);
        var holds = new Dictionary<string, SupplyHoldRows.Hold>(StringComparer.Ordinal);
        TableEntity? study = null;
        await foreach (var row in table.QueryPrefixAsync(studyId, Prefix, ct))
        {
            switch (row.RowKey)
            {
                case AuditTrail.HeadRowKey:
                    head = AuditTrail.HeadFrom(row);
                    break;
                case StudyStore.RowKey:
                    study = row;
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
            holds,
            study);
    }
}

/// <summary>
/// Each study's randomization state as this app instance left it with its own last write, with the ETags that write
/// returned, and the shelves and read-ahead slots it decided from, less what it took: the next randomization in this
/// instance need not read any of them again. A view is current only while no other
/// write of this instance has finished since (<see cref="StudyWrites.Version"/>); another instance's write is caught by
/// the head's ETag in the next transaction, because every change to a study moves its head. So a view only ever
/// decides something that then commits: a caller that would refuse or answer from it reads fresh rows and decides again.
/// </summary>
public sealed class RandomizationViews
{
    private sealed record View(long Version, RandomizationState State);

    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, View> _views = new(StringComparer.Ordinal);

    /// <summary>
    /// Takes the state as this instance's last write left it, if no other write of this instance has finished since:
    /// whoever takes it uses it once, so a decision that fails on it (a lost race, an error) leaves no view behind.
    /// </summary>
    public RandomizationState? Take(string studyId, long version) =>
        _views.TryRemove(studyId, out var view) && view.Version == version ? view.State : null;

    /// <summary>
    /// The state as this instance's last write left it, if current, without taking it: what a request reads beside its
    /// authorization, so a caller who turns out to hold no role in the study has used up nothing. The write that decides
    /// from it takes it (<see cref="Take"/>), and only while the instance's write count is still <paramref name="version"/>.
    /// </summary>
    public RandomizationState? Peek(string studyId, long version) =>
        _views.TryGetValue(studyId, out var view) && view.Version == version ? view.State : null;

    /// <summary>
    /// The study row of the last view kept, current or not, without taking it: what a request waiting for its turn
    /// authorizes against. The decision itself uses the study as its own reads (or a current view) show it.
    /// </summary>
    public TableEntity? LastStudyRow(string studyId) => _views.TryGetValue(studyId, out var view) ? view.State.StudyRow : null;

    /// <summary>Keeps the state a committed write left, for the instance's writes version it will be current at.</summary>
    public void Keep(string studyId, long version, RandomizationState state) => _views[studyId] = new View(version, state);
}

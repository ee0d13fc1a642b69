using Azure.Data.Tables;

namespace Iwrs.Storage.Stores;

/// <summary>
/// The rows one decision changes, as the actions of one entity-group transaction on one partition: the state rows,
/// the audit record and head, and any outgoing notification. Only the stores put actions in; a feature collects them
/// here and submits them once (at most 100, all or nothing).
/// </summary>
public sealed class StudyChange : IEnumerable<TableTransactionAction>
{
    /// <summary>What one entity-group transaction may hold.</summary>
    public const int MaxActions = 100;

    private readonly List<TableTransactionAction> _actions = [];

    public int Count => _actions.Count;

    public void Add(TableTransactionAction action)
    {
        ArgumentNullException.ThrowIfNull(action);
        _actions.Add(action);
    }

    public void AddRange(IEnumerable<TableTransactionAction> actions)
    {
        ArgumentNullException.ThrowIfNull(actions);
        foreach (var action in actions)
        {
            Add(action);
        }
    }

    /// <summary>Puts an action first (the row whose insert makes the change happen once, ahead of the rest).</summary>
    public void Insert(int index, TableTransactionAction action)
    {
        ArgumentNullException.ThrowIfNull(action);
        _actions.Insert(index, action);
    }

    /// <summary>
    /// Submits the change as one transaction and returns each action's new ETag in order ("" for deletes). A refusal
    /// is a <see cref="Azure.Data.Tables.TableTransactionFailedException"/> naming the failing action; nothing was applied.
    /// </summary>
    public async Task<IReadOnlyList<string>> SubmitAsync(TableClient table, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(table);
        var response = await table.SubmitTransactionAsync(_actions, ct);
        return response.Value.Select(r => r.Headers.ETag?.ToString() ?? string.Empty).ToList();
    }

    public IEnumerator<TableTransactionAction> GetEnumerator() => _actions.GetEnumerator();

    System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();
}

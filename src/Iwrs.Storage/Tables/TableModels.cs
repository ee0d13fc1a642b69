namespace Iwrs.Storage.Tables;

/// <summary>
/// How a write treats properties the request does not mention: <see cref="Replace"/> drops them (PUT),
/// <see cref="Merge"/> keeps them (MERGE).
/// https://learn.microsoft.com/rest/api/storageservices/update-entity2 and .../merge-entity
/// </summary>
public enum TableUpdateMode
{
    Replace,
    Merge,
}

/// <summary>
/// An entity's ETag as the service returned it, used verbatim in <c>If-Match</c>. Optimistic concurrency is explicit:
/// an unconditional write has to ask for <see cref="All"/> by name.
/// </summary>
public readonly record struct TableETag(string Value)
{
    /// <summary><c>If-Match: *</c>: the write succeeds whatever the stored version is (but the entity must exist).</summary>
    public static TableETag All { get; } = new("*");

    public override string ToString() => Value ?? string.Empty;

    /// <summary>The header value; throws for <c>default(TableETag)</c> so a forgotten ETag is not sent as empty.</summary>
    internal string RequireValue(string paramName) =>
        string.IsNullOrEmpty(Value)
            ? throw new ArgumentException("An ETag is required; pass TableETag.All for an unconditional write.", paramName)
            : Value;
}

/// <summary>One page of a query and where the next one starts (null when this was the last).</summary>
public sealed record TablePage(IReadOnlyList<TableEntity> Items, TableContinuation? Continuation);

/// <summary>
/// The service's <c>x-ms-continuation-NextPartitionKey</c>/<c>NextRowKey</c> values, opaque and passed back as they came.
/// https://learn.microsoft.com/rest/api/storageservices/query-timeout-and-pagination
/// </summary>
public sealed record TableContinuation(string NextPartitionKey, string? NextRowKey);

/// <summary>The operations an entity-group transaction may hold.</summary>
public enum TableTransactionActionType
{
    /// <summary>POST: fails with 409 EntityAlreadyExists when the entity is there.</summary>
    Insert,

    /// <summary>PUT without If-Match (insert or replace).</summary>
    UpsertReplace,

    /// <summary>MERGE without If-Match (insert or merge).</summary>
    UpsertMerge,

    /// <summary>PUT with If-Match: 412 on a stale ETag, 404 when missing.</summary>
    UpdateReplace,

    /// <summary>MERGE with If-Match: 412 on a stale ETag, 404 when missing.</summary>
    UpdateMerge,

    /// <summary>DELETE with If-Match: 412 on a stale ETag, 404 when missing. Only the entity's keys are used.</summary>
    Delete,
}

/// <summary>
/// One operation of an entity-group transaction. Update* and Delete require <paramref name="IfMatch"/>
/// (<see cref="TableETag.All"/> for unconditional); Insert and Upsert* must not have one.
/// </summary>
public sealed record TableTransactionAction(TableTransactionActionType Type, TableEntity Entity, TableETag? IfMatch = null);

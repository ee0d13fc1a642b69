using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;

namespace Iwrs.Storage.Tables;

/// <summary>
/// Operations on one table. Expected outcomes are return values (created or not, found or not, deleted or already
/// gone); everything else throws <see cref="TableStorageException"/> with the service's status and error code, or
/// <see cref="StorageUnavailableException"/> when storage could not be reached. Writes that guard on a version take the
/// ETag explicitly: a 412 (ErrorCode <c>UpdateConditionNotSatisfied</c>) means someone else wrote first.
/// A retried write can meet its own earlier success (an insert then sees 409, a create sees "already exists"); callers
/// that need idempotency treat those as "already done", as the storage rules require anyway.
/// </summary>
public sealed class TableClient
{
    /// <summary>The service returns at most 1,000 entities per page (https://learn.microsoft.com/rest/api/storageservices/query-timeout-and-pagination).</summary>
    public const int MaxPageSize = 1000;

    /// <summary>Insert answers 204 without echoing the entity (https://learn.microsoft.com/rest/api/storageservices/setting-the-prefer-header-to-manage-response-echo-on-insert-operations).</summary>
    private static readonly KeyValuePair<string, string> PreferNoContent = new("Prefer", "return-no-content");

    /// <summary>The Table service's own verb for merge writes (https://learn.microsoft.com/rest/api/storageservices/merge-entity).</summary>
    private static readonly HttpMethod Merge = new("MERGE");

    private readonly TableTransport _transport;

    internal TableClient(TableTransport transport, string name)
    {
        _transport = transport;
        Name = name;
    }

    public string Name { get; }

    /// <summary>
    /// Create Table (https://learn.microsoft.com/rest/api/storageservices/create-table). True when this call created
    /// it; false when it already existed (409 TableAlreadyExists).
    /// </summary>
    public async Task<bool> CreateIfNotExistsAsync(CancellationToken ct = default)
    {
        var body = JsonSerializer.SerializeToUtf8Bytes(new Dictionary<string, string> { ["TableName"] = Name });
        var request = new TableRequest(HttpMethod.Post, new Uri(_transport.BaseUrl + "/Tables"), $"Create table '{Name}'")
        {
            Body = body,
            Headers = [PreferNoContent],
        };
        var response = await _transport.SendAsync(request, ct).ConfigureAwait(false);
        if (response.IsSuccess)
        {
            return true;
        }

        var error = TableErrors.ToException(response, request.Operation);
        if (response.Status == 409 && error.ErrorCode is null or "TableAlreadyExists")
        {
            return false;
        }

        throw error;
    }

    /// <summary>
    /// Point read (https://learn.microsoft.com/rest/api/storageservices/query-entities, with both keys in the URL).
    /// Null when the entity does not exist. A missing table is an error, not "not found". With
    /// <paramref name="select"/>, PartitionKey and RowKey are always selected too.
    /// </summary>
    public async Task<TableEntity?> GetEntityAsync(string pk, string rk, IReadOnlyList<string>? select = null, CancellationToken ct = default)
    {
        TableKeys.Validate(pk, nameof(pk));
        TableKeys.Validate(rk, nameof(rk));
        var url = TableUrls.Entity(_transport.BaseUrl, Name, pk, rk)
                  + TableUrls.Query([new("$select", TableUrls.Select(select))]);
        var request = new TableRequest(HttpMethod.Get, new Uri(url), $"Get entity from '{Name}'")
        {
            Accept = TableTransport.MinimalMetadata,
        };
        var response = await _transport.SendAsync(request, ct).ConfigureAwait(false);
        if (response.Status == 404)
        {
            var error = TableErrors.ToException(response, request.Operation);
            return error.ErrorCode == "TableNotFound" ? throw error : null;
        }

        if (response.Status != 200)
        {
            throw TableErrors.ToException(response, request.Operation);
        }

        using var doc = ParseJson(response, request.Operation);
        var entity = EntityJson.Parse(doc.RootElement, response.Header("ETag"));
        if (entity.PartitionKey.Length == 0)
        {
            entity.PartitionKey = pk;
        }

        if (entity.RowKey.Length == 0)
        {
            entity.RowKey = rk;
        }

        return entity;
    }

    /// <summary>
    /// Insert Entity (https://learn.microsoft.com/rest/api/storageservices/insert-entity). Returns the new ETag.
    /// An existing entity fails with Status 409, ErrorCode <c>EntityAlreadyExists</c>.
    /// </summary>
    public async Task<string> InsertAsync(TableEntity e, CancellationToken ct = default)
    {
        ValidateEntity(e);
        var request = new TableRequest(HttpMethod.Post, new Uri(TableUrls.Table(_transport.BaseUrl, Name)), $"Insert into '{Name}'")
        {
            Body = EntityJson.Serialize(e),
            Headers = [PreferNoContent],
        };
        return await WriteAsync(request, ct).ConfigureAwait(false);
    }

    /// <summary>
    /// Insert Or Replace / Insert Or Merge Entity (https://learn.microsoft.com/rest/api/storageservices/insert-or-replace-entity,
    /// .../insert-or-merge-entity): unconditional, no If-Match. Returns the new ETag.
    /// </summary>
    public async Task<string> UpsertAsync(TableEntity e, TableUpdateMode mode, CancellationToken ct = default)
    {
        ValidateEntity(e);
        var request = new TableRequest(MethodFor(mode), EntityUri(e.PartitionKey, e.RowKey), $"Upsert ({mode}) into '{Name}'")
        {
            Body = EntityJson.Serialize(e),
        };
        return await WriteAsync(request, ct).ConfigureAwait(false);
    }

    /// <summary>
    /// Update Entity / Merge Entity (https://learn.microsoft.com/rest/api/storageservices/update-entity2,
    /// .../merge-entity) with <c>If-Match</c>. A stale ETag fails with Status 412 (<c>UpdateConditionNotSatisfied</c>),
    /// a missing entity with 404. Pass <see cref="TableETag.All"/> to overwrite whatever version is stored.
    /// Returns the new ETag.
    /// </summary>
    public async Task<string> UpdateAsync(TableEntity e, TableETag ifMatch, TableUpdateMode mode, CancellationToken ct = default)
    {
        ValidateEntity(e);
        var etag = ifMatch.RequireValue(nameof(ifMatch));
        var request = new TableRequest(MethodFor(mode), EntityUri(e.PartitionKey, e.RowKey), $"Update ({mode}) in '{Name}'")
        {
            Body = EntityJson.Serialize(e),
            Headers = [new("If-Match", etag)],
        };
        return await WriteAsync(request, ct).ConfigureAwait(false);
    }

    /// <summary>
    /// Delete Entity (https://learn.microsoft.com/rest/api/storageservices/delete-entity1) with <c>If-Match</c>.
    /// False when the entity was not there; a stale ETag fails with Status 412.
    /// </summary>
    public async Task<bool> DeleteAsync(string pk, string rk, TableETag ifMatch, CancellationToken ct = default)
    {
        TableKeys.Validate(pk, nameof(pk));
        TableKeys.Validate(rk, nameof(rk));
        var etag = ifMatch.RequireValue(nameof(ifMatch));
        var request = new TableRequest(HttpMethod.Delete, EntityUri(pk, rk), $"Delete from '{Name}'")
        {
            Headers = [new("If-Match", etag)],
        };
        var response = await _transport.SendAsync(request, ct).ConfigureAwait(false);
        if (response.IsSuccess)
        {
            return true;
        }

        var error = TableErrors.ToException(response, request.Operation);
        if (response.Status == 404 && error.ErrorCode != "TableNotFound")
        {
            return false;
        }

        throw error;
    }

    /// <summary>
    /// One page of Query Entities (https://learn.microsoft.com/rest/api/storageservices/query-entities).
    /// <paramref name="top"/> is 1-1,000. A page may be empty and still have a continuation (the service stops at
    /// 1,000 rows or 5 seconds, and at partition boundaries), so "no items" does not mean "done". Entities carry their
    /// ETag (the answer is requested as minimalmetadata); with <paramref name="select"/>, PartitionKey and RowKey are
    /// always selected too.
    /// </summary>
    public async Task<TablePage> QueryPageAsync(
        TableFilter? filter, IReadOnlyList<string>? select = null, int? top = null, TableContinuation? continuation = null,
        CancellationToken ct = default)
    {
        if (top is < 1 or > MaxPageSize)
        {
            throw new ArgumentOutOfRangeException(nameof(top), top, $"top must be between 1 and {MaxPageSize}.");
        }

        var query = TableUrls.Query(
        [
            new("$filter", filter is { IsEmpty: false } f ? f.Text : null),
            new("$select", TableUrls.Select(select)),
            new("$top", top?.ToString(CultureInfo.InvariantCulture)),
            new("NextPartitionKey", continuation?.NextPartitionKey),
            new("NextRowKey", continuation?.NextRowKey),
        ]);
        var request = new TableRequest(HttpMethod.Get, new Uri(_transport.BaseUrl + "/" + Name + "()" + query), $"Query '{Name}'")
        {
            Accept = TableTransport.MinimalMetadata,
        };
        var response = await _transport.SendAsync(request, ct).ConfigureAwait(false);
        if (response.Status != 200)
        {
            throw TableErrors.ToException(response, request.Operation);
        }

        using var doc = ParseJson(response, request.Operation);
        if (!doc.RootElement.TryGetProperty("value", out var value) || value.ValueKind != JsonValueKind.Array)
        {
            throw new TableStorageException($"{request.Operation} answered without a 'value' array.", response.Status, null);
        }

        var items = new List<TableEntity>(value.GetArrayLength());
        foreach (var element in value.EnumerateArray())
        {
            items.Add(EntityJson.Parse(element, etag: null));
        }

        var nextPartitionKey = response.Header("x-ms-continuation-NextPartitionKey");
        var next = string.IsNullOrEmpty(nextPartitionKey)
            ? null
            : new TableContinuation(nextPartitionKey, NullIfEmpty(response.Header("x-ms-continuation-NextRowKey")));
        return new TablePage(items, next);
    }

    /// <summary>
    /// All entities matching <paramref name="filter"/>, page after page for as long as the service returns continuation
    /// headers (even after an empty page), stopping early after <paramref name="maxResults"/> entities.
    /// </summary>
    public async IAsyncEnumerable<TableEntity> QueryAsync(
        TableFilter? filter, IReadOnlyList<string>? select = null, int? maxResults = null,
        [EnumeratorCancellation] CancellationToken ct = default)
    {
        if (maxResults is < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(maxResults), maxResults, "maxResults must be positive, or null for all.");
        }

        var remaining = maxResults;
        TableContinuation? continuation = null;
        do
        {
            int? top = remaining is { } r ? Math.Min(r, MaxPageSize) : null;
            var page = await QueryPageAsync(filter, select, top, continuation, ct).ConfigureAwait(false);
            foreach (var entity in page.Items)
            {
                yield return entity;
                if (remaining is not null && --remaining == 0)
                {
                    yield break;
                }
            }

            continuation = page.Continuation;
        }
        while (continuation is not null);
    }

    /// <summary>
    /// An entity-group transaction (https://learn.microsoft.com/rest/api/storageservices/performing-entity-group-transactions):
    /// 1-100 actions on one partition, each entity at most once, applied all or nothing. Returns each action's new ETag
    /// in order ("" for deletes). When the service refuses, nothing was applied and
    /// <see cref="TableTransactionFailedException"/> says which action (FailedActionIndex), its Status (409, 412, 404…)
    /// and ErrorCode.
    /// </summary>
    public async Task<IReadOnlyList<string>> SubmitTransactionAsync(IReadOnlyList<TableTransactionAction> actions, CancellationToken ct = default)
    {
        TableBatch.Validate(actions);
        var (body, contentType) = TableBatch.Build(_transport.BaseUrl, Name, actions, Guid.NewGuid(), Guid.NewGuid());
        var request = new TableRequest(HttpMethod.Post, new Uri(_transport.BaseUrl + "/$batch"), $"Transaction on '{Name}'")
        {
            Body = body,
            ContentType = contentType,
        };
        var response = await _transport.SendAsync(request, ct).ConfigureAwait(false);
        return TableBatch.ParseResponse(response, actions, Name);
    }

    private async Task<string> WriteAsync(TableRequest request, CancellationToken ct)
    {
        var response = await _transport.SendAsync(request, ct).ConfigureAwait(false);
        if (!response.IsSuccess)
        {
            throw TableErrors.ToException(response, request.Operation);
        }

        return response.Header("ETag")
               ?? throw new TableStorageException($"{request.Operation} succeeded but the answer has no ETag.", response.Status, null);
    }

    private Uri EntityUri(string pk, string rk) => new(TableUrls.Entity(_transport.BaseUrl, Name, pk, rk));

    private static HttpMethod MethodFor(TableUpdateMode mode) => mode switch
    {
        TableUpdateMode.Replace => HttpMethod.Put,
        TableUpdateMode.Merge => Merge,
        _ => throw new ArgumentOutOfRangeException(nameof(mode), mode, "Unknown update mode."),
    };

    private static void ValidateEntity(TableEntity e)
    {
        ArgumentNullException.ThrowIfNull(e);
        TableKeys.Validate(e.PartitionKey, "entity.PartitionKey");
        TableKeys.Validate(e.RowKey, "entity.RowKey");
    }

    private static JsonDocument ParseJson(TableResponse response, string operation)
    {
        try
        {
            return JsonDocument.Parse(response.Body);
        }
        catch (JsonException ex)
        {
            var start = Encoding.UTF8.GetString(response.Body.AsSpan(0, Math.Min(100, response.Body.Length)));
            throw new TableStorageException($"{operation} answered with a body that is not JSON (starts with '{start}').", ex);
        }
    }

    private static string? NullIfEmpty(string? value) => string.IsNullOrEmpty(value) ? null : value;
}

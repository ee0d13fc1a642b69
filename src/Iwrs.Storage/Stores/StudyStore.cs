using System.Collections.Concurrent;
using Iwrs.Domain.Studies;
using Azure;
using Azure.Data.Tables;

namespace Iwrs.Storage.Stores;

/// <summary>The stored configuration of a study: row <c>study</c> in the study's partition.</summary>
public sealed record StoredStudy(StudyConfiguration Configuration, string CanonicalJson, string ContentHash, DateTimeOffset LoadedAt, string LoadedBy, string ETag);

/// <summary>
/// Reads and writes the study row. The configuration is kept as its canonical JSON (one string property, under
/// the 64 KiB limit) plus its SHA-256, so an unchanged reload is recognised without comparing fields.
/// </summary>
public sealed class StudyStore(IwrsTable table, Func<string, StudyDefinition?> parse)
{
    /// <summary>Under the <c>state|</c> prefix, so the one range read of a randomization's state brings the study too.</summary>
    public const string RowKey = RandomizationState.Prefix + "study";

    public async Task<StoredStudy?> GetAsync(string studyId, CancellationToken ct)
    {
        var client = await table.GetAsync(ct);
        var row = await client.GetRowAsync(studyId, RowKey, ct);
        return row is null ? null : FromEntity(row);
    }

    /// <summary>The study from its row as another read brought it (<see cref="RandomizationState.StudyRow"/>); null for none.</summary>
    public StoredStudy? From(TableEntity? row) => row is null ? null : FromEntity(row);

    /// <summary>
    /// Every study. This scans the table for study rows; a deployment holds a handful of studies, and the
    /// scan is only made by the study list, never on a per-subject path.
    /// </summary>
    public async Task<IReadOnlyList<StoredStudy>> ListAsync(CancellationToken ct)
    {
        var client = await table.GetAsync(ct);
        var result = new List<StoredStudy>();
        await foreach (var row in client.QueryAsync<TableEntity>(TableClient.CreateQueryFilter($"RowKey eq {RowKey}"), cancellationToken: ct))
        {
            result.Add(FromEntity(row));
        }

        return result;
    }

    /// <summary>
    /// The partition of every study, from its <c>study</c> row read for its keys only (no configuration parsed, so a
    /// study whose stored configuration no longer validates cannot hide the others).
    /// </summary>
    public static async Task<IReadOnlyList<string>> PartitionsAsync(TableClient table, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(table);
        var result = new List<string>();
        await foreach (var row in table.QueryAsync<TableEntity>(TableClient.CreateQueryFilter($"RowKey eq {RowKey}"), select: ["PartitionKey"], cancellationToken: ct))
        {
            result.Add(row.PartitionKey);
        }

        return result;
    }

    /// <summary>The transaction action that stores <paramref name="canonicalJson"/>: an insert for a new study, a guarded replace otherwise.</summary>
    public static TableTransactionAction Write(StudyConfiguration configuration, string canonicalJson, string contentHash, DateTimeOffset at, string userId, string? etag)
    {
        var e = Rows.New(configuration.StudyId, RowKey);
        e.Set("Version", configuration.Version);
        e.Set("Title", configuration.Title);
        e.Set("Configuration", canonicalJson);
        e.Set("ContentHash", contentHash);
        e.Set("LoadedAt", at);
        e.Set("LoadedBy", userId);
        return etag is null
            ? new TableTransactionAction(TableTransactionActionType.Add, e)
            : new TableTransactionAction(TableTransactionActionType.UpdateReplace, e, new ETag(etag));
    }

    /// <summary>An immutable copy of one loaded version (<c>study-version|000001</c>): the history behind the audit trail's content hashes.</summary>
    public static TableTransactionAction WriteVersion(StudyConfiguration configuration, string canonicalJson, string contentHash, DateTimeOffset at, string userId)
    {
        var e = Rows.New(configuration.StudyId, VersionPrefix + configuration.Version.ToString("D6", System.Globalization.CultureInfo.InvariantCulture));
        e.Set("Version", configuration.Version);
        e.Set("Configuration", canonicalJson);
        e.Set("ContentHash", contentHash);
        e.Set("LoadedAt", at);
        e.Set("LoadedBy", userId);
        return new TableTransactionAction(TableTransactionActionType.Add, e);
    }

    public const string VersionPrefix = "study-version|";

    /// <summary>
    /// Every request reads the study row, but its configuration changes a few times in a study's life: parse and
    /// validate each distinct text once per instance (keyed by the text itself, so a changed row is parsed anew).
    /// </summary>
    private readonly ConcurrentDictionary<string, StudyConfiguration> _parsed = new(StringComparer.Ordinal);

    private StudyConfiguration Parsed(string studyId, string json)
    {
        if (_parsed.TryGetValue(json, out var known))
        {
            return known;
        }

        var result = StudyConfiguration.Create(parse(json));
        if (!result.IsSuccess)
        {
            throw new InvalidDataException($"The stored configuration of study {studyId} no longer validates: {result.Error!.Message}");
        }

        // Bounded in practice (one entry per loaded version); cleared rather than grown past a sane size.
        if (_parsed.Count > 256)
        {
            _parsed.Clear();
        }

        return _parsed.GetOrAdd(json, result.Value);
    }

    private StoredStudy FromEntity(TableEntity row)
    {
        var json = row.GetString("Configuration") ?? throw new InvalidDataException($"Study row {row.PartitionKey} has no configuration.");
        return new StoredStudy(
            Parsed(row.PartitionKey, json),
            json,
            row.GetString("ContentHash") ?? string.Empty,
            row.GetDateTimeOffset("LoadedAt") ?? DateTimeOffset.MinValue,
            row.GetString("LoadedBy") ?? string.Empty,
            row.Tag());
    }
}

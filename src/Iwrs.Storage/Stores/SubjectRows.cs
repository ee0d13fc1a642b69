using System.Text.Json;
using Iwrs.Domain.Subjects;
using Azure;
using Azure.Data.Tables;

namespace Iwrs.Storage.Stores;

/// <summary>
/// Subjects (<c>subject|{id}</c>, the subject id is the natural idempotency key of randomization) and the
/// study's number sequence (<c>state|subject-number</c>).
/// </summary>
public static class SubjectRows
{
    public const string Prefix = "subject|";
    public const string CounterKey = RandomizationState.Prefix + "subject-number";

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public sealed record StoredSubject(Subject Subject, string ETag);

    public static string Key(string subjectId) => Prefix + subjectId;

    public static async Task<StoredSubject?> GetAsync(TableClient table, string studyId, string subjectId, CancellationToken ct)
    {
        var row = await table.GetRowAsync(studyId, Key(subjectId), ct);
        return row is null ? null : FromEntity(row);
    }

    /// <summary>Every subject of a study (the resupply check's demand per site and kit type; not on a per-request path).</summary>
    public static async Task<IReadOnlyList<Subject>> AllAsync(TableClient table, string studyId, CancellationToken ct)
    {
        var result = new List<Subject>();
        await foreach (var row in table.QueryPrefixAsync(studyId, Prefix, ct))
        {
            result.Add(FromEntity(row).Subject);
        }

        return result;
    }

    public static Task<Counter> GetCounterAsync(TableClient table, string studyId, CancellationToken ct) =>
        Counter.GetAsync(table, studyId, CounterKey, ct);

    public static TableEntity ToEntity(string studyId, Subject s)
    {
        var e = Rows.New(studyId, Key(s.SubjectId));
        e.Set("SiteId", s.SiteId);
        e.Set("Status", Subject.StatusName(s.Status));
        e.Set("Number", s.Number);
        if (s.StratumKey is not null)
        {
            e.Set("StratumKey", s.StratumKey);
        }

        if (s.ListPosition is { } position)
        {
            e.Set("ListPosition", position);
        }

        e.Set("Arm", s.ArmCode);
        e.Set("KitType", s.KitType);
        e.Set("RandomizedAt", s.RandomizedAt);
        e.Set("RandomizedBy", s.RandomizedBy);
        e.Set("Dispensations", JsonSerializer.Serialize(s.Dispensations, Json));
        e.Set("Unblinded", s.Unblinded);
        if (s.DiscontinuationReason is not null)
        {
            e.Set("DiscontinuationReason", s.DiscontinuationReason);
        }

        return e;
    }

    /// <summary>The subject's first row: its insert is what makes randomization happen once (a concurrent twin fails on it).</summary>
    public static TableTransactionAction Insert(string studyId, Subject s) =>
        new(TableTransactionActionType.Add, ToEntity(studyId, s));

    /// <summary>The subject as changed, guarded by the ETag it was read with.</summary>
    public static TableTransactionAction Replace(string studyId, Subject s, string etag) =>
        new(TableTransactionActionType.UpdateReplace, ToEntity(studyId, s), new ETag(etag));

    public static StoredSubject FromEntity(TableEntity e) => new(
        new Subject(
            e.RowKey[Prefix.Length..],
            e.GetString("SiteId") ?? string.Empty,
            e.GetString("Status") == "discontinued" ? SubjectStatus.Discontinued : SubjectStatus.Randomized,
            e.GetString("Number") ?? string.Empty,
            e.GetString("StratumKey"),
            e.GetInt32("ListPosition"),
            e.GetString("Arm") ?? string.Empty,
            e.GetString("KitType") ?? string.Empty,
            e.GetDateTimeOffset("RandomizedAt") ?? DateTimeOffset.MinValue,
            e.GetString("RandomizedBy") ?? string.Empty,
            JsonSerializer.Deserialize<List<Dispensation>>(e.GetString("Dispensations") ?? "[]", Json) ?? [],
            e.GetBoolean("Unblinded") ?? false,
            e.GetString("DiscontinuationReason")),
        e.Tag());
}

using Iwrs.Domain.Access;
using Iwrs.Domain.Audit;
using Iwrs.Functions.Hosting;
using Iwrs.Storage.Stores;
using System.ComponentModel;
using Microsoft.Azure.Functions.Worker;

namespace Iwrs.Functions.Features;

/// <summary>The study's audit trail and its verification.</summary>
public sealed class AuditFunctions
{
    /// <remarks>
    /// Blinded readers get no hashes: a record's hash covers its withheld values, so with a hash in hand one could
    /// try each arm and list position until it matched. They verify the chain through <c>/audit/verify</c>.
    /// </remarks>
    public sealed record AuditView(long Sequence, DateTimeOffset At, string UserId, string Role, string Channel, string Action, string Target, IReadOnlyList<AuditChange> Changes, string? Reason, string? PreviousHash, string? Hash);

    public sealed record VerifyView(bool Intact, long RecordsChecked, long HeadSequence, long? FirstBadSequence, string? Problem);

    [Function("GetAudit")]
    [Description("The audit trail, oldest first (?format=csv for CSV); unblinded values are withheld from blinded readers.")]
    public async Task<IResult> GetAudit([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "studies/{studyId}/audit")] HttpRequest req, string studyId, CancellationToken ct)
    {
        var format = RequestQuery.String(req, "format");
        var (context, refusal) = await StudyContext.ResolveAsync(studyId, StudyAction.ViewAudit, null, req.HttpContext, ct);
        if (refusal is not null)
        {
            return refusal;
        }

        var unblinded = context!.Access.IsUnblinded;
        var records = new List<AuditView>();
        await foreach (var record in AuditTrail.ReadAsync(context.Table, studyId, ct))
        {
            var shown = unblinded ? record : record.Blinded();
            records.Add(new AuditView(shown.Sequence, shown.At, shown.UserId, shown.Role, shown.Channel.ToString().ToLowerInvariant(), shown.Action, shown.Target, shown.Changes, shown.Reason,
                unblinded ? shown.PreviousHash : null, unblinded ? shown.Hash : null));
        }

        return format == "csv" ? Results.Text(Csv(records), "text/csv", System.Text.Encoding.UTF8) : TypedResults.Ok(records);
    }

    [Function("VerifyAudit")]
    [Description("Recomputes the hash chain and names the first record that does not fit.")]
    public async Task<IResult> VerifyAudit([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "studies/{studyId}/audit/verify")] HttpRequest req, string studyId, CancellationToken ct)
    {
        var (context, refusal) = await StudyContext.ResolveAsync(studyId, StudyAction.ViewAudit, null, req.HttpContext, ct);
        if (refusal is not null)
        {
            return refusal;
        }

        var client = context!.Table;
        var head = await AuditTrail.ReadHeadAsync(client, studyId, ct);
        var records = new List<AuditRecord>();
        var keys = new Dictionary<AuditRecord, string>(ReferenceEqualityComparer.Instance);
        await foreach (var (key, record) in AuditTrail.ReadWithKeysAsync(client, studyId, ct))
        {
            records.Add(record);
            keys[record] = key;
        }

        var result = AuditVerification.Verify(records, head.Sequence, head.Hash, r =>
            keys[r] == AuditTrail.RecordKey(r.Sequence) ? null : $"is stored under '{keys[r]}', not under its own key");
        return TypedResults.Ok(new VerifyView(result.Intact, result.RecordsChecked, head.Sequence, result.FirstBadSequence, result.Problem));
    }

    /// <summary>The trail as CSV (RFC 4180), one record per line; changes as JSON in one field.</summary>
    private static string Csv(IEnumerable<AuditView> records)
    {
        static string Field(string? value) =>
            value is null ? string.Empty
            : value.IndexOfAny([',', '"', '\n', '\r']) >= 0 ? "\"" + value.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"" : value;

        var csv = new System.Text.StringBuilder("sequence,at,userId,role,channel,action,target,changes,reason,previousHash,hash\n");
        foreach (var r in records)
        {
            csv.AppendJoin(',', [
                r.Sequence.ToString(System.Globalization.CultureInfo.InvariantCulture),
                r.At.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ss.fffffffZ", System.Globalization.CultureInfo.InvariantCulture),
                Field(r.UserId), Field(r.Role), r.Channel, Field(r.Action), Field(r.Target),
                Field(System.Text.Json.JsonSerializer.Serialize(r.Changes, RequestBody.SerializerOptions)),
                Field(r.Reason), r.PreviousHash, r.Hash]).Append('\n');
        }

        return csv.ToString();
    }
}

using Iwrs.Domain;
using Iwrs.Domain.Access;
using Iwrs.Domain.Audit;
using Iwrs.Functions.Auth;
using Iwrs.Functions.Errors;
using Iwrs.Functions.Hosting;
using System.Security.Cryptography;
using Microsoft.AspNetCore.Authorization;
using Iwrs.Storage.Stores;
using System.ComponentModel;
using Microsoft.Azure.Functions.Worker;

namespace Iwrs.Functions.Features;

/// <summary>The study's audit trail and its verification.</summary>
public sealed class AuditFunctions(AuditCheckpoints checkpoints, AuditCheckpointStore store, AuditSigning signing, AccessResolver access, IwrsTable table, TimeProvider time)
{
    /// <remarks>
    /// Blinded readers get no hashes: a record's hash covers its withheld values, so with a hash in hand one could
    /// try each arm and list position until it matched. They verify the chain through <c>/audit/verify</c>.
    /// </remarks>
    public sealed record AuditView(long Sequence, DateTimeOffset At, string UserId, string Role, string Channel, string Action, string Target, IReadOnlyList<AuditChange> Changes, string? Reason, string? PreviousHash, string? Hash);

    /// <remarks>
    /// <c>SecondsSinceNewestCheckpoint</c> and <c>RecordsAfterNewestCheckpoint</c> show what no signature covers yet:
    /// changes newer than the newest checkpoint rest on the table's hash chain alone.
    /// </remarks>
    public sealed record VerifyView(
        bool Intact, long RecordsChecked, long HeadSequence, long? FirstBadSequence, string? Problem,
        int CheckpointsChecked, long? NewestCheckpointSequence, DateTimeOffset? NewestCheckpointAt, long? SecondsSinceNewestCheckpoint, long? RecordsAfterNewestCheckpoint);

    public sealed record CheckpointView(string Name, AuditCheckpointStore.Document? Checkpoint);

    public sealed record CheckpointsView(string StudyId, IReadOnlyList<CheckpointView> Checkpoints);

    public sealed record SigningKeyView(string KeyId, string Algorithm, string PublicKey, bool Current);

    public sealed record SigningKeysView(IReadOnlyList<SigningKeyView> Keys);

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

        return await TrailAsync(context!.Table, studyId, context.Access.IsUnblinded, format, ct);
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

        return await VerifiedAsync(context!.Table, studyId, ct);
    }

    /// <remarks>A checkpoint holds a record hash, which covers withheld values: unblinded readers only, like the hashes in /audit.</remarks>
    [Function("GetAuditCheckpoints")]
    [Description("Unblinded readers: every signed checkpoint blob of the study, as stored, for the independent verifier.")]
    public async Task<IResult> GetAuditCheckpoints([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "studies/{studyId}/audit/checkpoints")] HttpRequest req, string studyId, CancellationToken ct)
    {
        var (context, refusal) = await StudyContext.ResolveAsync(studyId, StudyAction.ViewAudit, null, req.HttpContext, ct);
        if (refusal is not null)
        {
            return refusal;
        }

        if (!context!.Access.IsUnblinded)
        {
            return Problems.From(new DomainError("unblinded-role-required", "Checkpoints hold record hashes, which cover withheld values: only unblinded readers get them."));
        }

        return await CheckpointsAsync(studyId, ct);
    }

    [Function("GetSystemAudit")]
    [Description("Administrators: the system partition's audit trail (administrator grants, SMS PINs, locks, unlocks and phones), oldest first, with hashes (?format=csv).")]
    public async Task<IResult> GetSystemAudit([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "admin/audit")] HttpRequest req, CancellationToken ct) =>
        await AdministratorAsync(req, ct) ?? await TrailAsync(await table.GetAsync(ct), IwrsTable.SystemPartition, unblinded: true, RequestQuery.String(req, "format"), ct);

    [Function("VerifySystemAudit")]
    [Description("Administrators: recomputes the system partition's hash chain and checks it against its signed checkpoints.")]
    public async Task<IResult> VerifySystemAudit([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "admin/audit/verify")] HttpRequest req, CancellationToken ct) =>
        await AdministratorAsync(req, ct) ?? await VerifiedAsync(await table.GetAsync(ct), IwrsTable.SystemPartition, ct);

    [Function("GetSystemAuditCheckpoints")]
    [Description("Administrators: every signed checkpoint blob of the system partition's chain, as stored, for the independent verifier.")]
    public async Task<IResult> GetSystemAuditCheckpoints([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "admin/audit/checkpoints")] HttpRequest req, CancellationToken ct) =>
        await AdministratorAsync(req, ct) ?? await CheckpointsAsync(IwrsTable.SystemPartition, ct);

    /// <summary>Null for an administrator; otherwise the refusal.</summary>
    private async Task<IResult?> AdministratorAsync(HttpRequest req, CancellationToken ct) =>
        await access.IsAdministratorAsync(Caller.From(req.HttpContext), ct)
            ? null
            : Problems.From(new DomainError("administrator-required", "Only an administrator reads the system partition's audit trail."));

    private static async Task<IResult> TrailAsync(Azure.Data.Tables.TableClient client, string partition, bool unblinded, string? format, CancellationToken ct)
    {
        var records = new List<AuditView>();
        await foreach (var record in AuditTrail.ReadAsync(client, partition, ct))
        {
            var shown = unblinded ? record : record.Blinded();
            records.Add(new AuditView(shown.Sequence, shown.At, shown.UserId, shown.Role, shown.Channel.ToString().ToLowerInvariant(), shown.Action, shown.Target, shown.Changes, shown.Reason,
                unblinded ? shown.PreviousHash : null, unblinded ? shown.Hash : null));
        }

        return format == "csv" ? Results.Text(Csv(records), "text/csv", System.Text.Encoding.UTF8) : TypedResults.Ok(records);
    }

    private async Task<IResult> VerifiedAsync(Azure.Data.Tables.TableClient client, string partition, CancellationToken ct)
    {
        var (result, head) = await checkpoints.VerifyAsync(client, partition, ct);
        var newest = result.NewestCheckpoint;
        return TypedResults.Ok(new VerifyView(
            result.Intact, result.RecordsChecked, head.Sequence, result.FirstBadSequence, result.Problem, result.CheckpointsChecked,
            newest?.Sequence, newest?.At, newest is null ? null : (long)(time.GetUtcNow() - newest.At).TotalSeconds,
            newest is null || !result.Intact ? null : head.Sequence - newest.Sequence));
    }

    private async Task<IResult> CheckpointsAsync(string partition, CancellationToken ct)
    {
        var stored = await store.ReadAllAsync(partition, ct);
        return TypedResults.Ok(new CheckpointsView(partition, [.. stored.Select(c => new CheckpointView(c.Name, c.Signed is null ? null : AuditCheckpointStore.ToDocument(c.Signed)))]));
    }

    [Function("GetAuditSigningKeys")]
    [AllowAnonymous]
    [Description("The public keys audit checkpoints are signed with (PEM), by key id; the current key and any previous ones.")]
    public IResult GetAuditSigningKeys([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "audit/signing-keys")] HttpRequest req) =>
        TypedResults.Ok(new SigningKeysView([.. signing.Keys.ById
            .OrderByDescending(k => k.Key == signing.CurrentKeyId).ThenBy(k => k.Key, StringComparer.Ordinal)
            .Select(k => new SigningKeyView(k.Key, "ES256", PemEncoding.WriteString("PUBLIC KEY", k.Value), k.Key == signing.CurrentKeyId))]));

    /// <summary>The trail as CSV (RFC 4180, cells neutralised against formulas), one record per line; changes as JSON in one field.</summary>
    private static string Csv(IEnumerable<AuditView> records)
    {
        var csv = new System.Text.StringBuilder(CsvText.Row(["sequence", "at", "userId", "role", "channel", "action", "target", "changes", "reason", "previousHash", "hash"]));
        foreach (var r in records)
        {
            csv.Append(CsvText.Row([
                r.Sequence.ToString(System.Globalization.CultureInfo.InvariantCulture),
                r.At.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ss.fffffffZ", System.Globalization.CultureInfo.InvariantCulture),
                r.UserId, r.Role, r.Channel, r.Action, r.Target,
                System.Text.Json.JsonSerializer.Serialize(r.Changes, RequestBody.SerializerOptions),
                r.Reason, r.PreviousHash, r.Hash]));
        }

        return csv.ToString();
    }
}

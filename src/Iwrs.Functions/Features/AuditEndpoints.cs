using Iwrs.Domain.Access;
using Iwrs.Domain.Audit;
using Iwrs.Functions.Auth;
using Iwrs.Storage.Stores;

namespace Iwrs.Functions.Features;

/// <summary>The study's audit trail and its verification.</summary>
public static class AuditEndpoints
{
    public sealed record AuditView(long Sequence, DateTimeOffset At, string UserId, string Role, string Channel, string Action, string Target, IReadOnlyList<AuditChange> Changes, string? Reason, string PreviousHash, string Hash);

    public sealed record VerifyView(bool Intact, long RecordsChecked, long HeadSequence, long? FirstBadSequence, string? Problem);

    public static void MapAudit(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/studies/{studyId}/audit").RequireAuthorization();
        group.MapGet("", List).WithName("GetAudit").WithSummary("The audit trail, oldest first; unblinded values are withheld from blinded readers.");
        group.MapGet("/verify", Verify).WithName("VerifyAudit").WithSummary("Recomputes the hash chain and names the first record that does not fit.");
    }

    private static async Task<IResult> List(string studyId, HttpContext context, StudyStore studies, AccessResolver access, IwrsTable table, CancellationToken ct)
    {
        var (_, rights, refusal) = await StudyEndpoints.Authorize(studyId, StudyAction.ViewAudit, null, context, studies, access, ct);
        if (refusal is not null)
        {
            return refusal;
        }

        var client = await table.GetAsync(ct);
        var records = new List<AuditView>();
        await foreach (var record in AuditTrail.ReadAsync(client, studyId, ct))
        {
            var shown = rights!.IsUnblinded ? record : record.Blinded();
            records.Add(new AuditView(shown.Sequence, shown.At, shown.UserId, shown.Role, shown.Channel.ToString().ToLowerInvariant(), shown.Action, shown.Target, shown.Changes, shown.Reason, shown.PreviousHash, shown.Hash));
        }

        return TypedResults.Ok(records);
    }

    private static async Task<IResult> Verify(string studyId, HttpContext context, StudyStore studies, AccessResolver access, IwrsTable table, CancellationToken ct)
    {
        var (_, _, refusal) = await StudyEndpoints.Authorize(studyId, StudyAction.ViewAudit, null, context, studies, access, ct);
        if (refusal is not null)
        {
            return refusal;
        }

        var client = await table.GetAsync(ct);
        var head = await AuditTrail.ReadHeadAsync(client, studyId, ct);
        var records = new List<AuditRecord>();
        await foreach (var record in AuditTrail.ReadAsync(client, studyId, ct))
        {
            records.Add(record);
        }

        var result = AuditVerification.Verify(records, head.Sequence, head.Hash);
        return TypedResults.Ok(new VerifyView(result.Intact, result.RecordsChecked, head.Sequence, result.FirstBadSequence, result.Problem));
    }
}

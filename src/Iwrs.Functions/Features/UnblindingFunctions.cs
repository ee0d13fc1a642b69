using Iwrs.Domain;
using Iwrs.Domain.Access;
using Iwrs.Domain.Audit;
using Iwrs.Functions.Errors;
using Iwrs.Functions.Hosting;
using Iwrs.Functions.Notifications;
using Iwrs.Storage.Stores;
using System.ComponentModel;
using Microsoft.Azure.Functions.Worker;

namespace Iwrs.Functions.Features;

/// <summary>Emergency unblinding of one subject: audited every time, and the medical monitors are told (without the arm).</summary>
public sealed class UnblindingFunctions(RequestBody body, TimeProvider time, NoticeRecipients recipients, AuditCheckpoints checkpoints)
{
    public sealed record UnblindingView(string SubjectId, string Number, string Arm, string ArmName, string KitType, DateTimeOffset UnblindedAt);

    [Function("Unblind")]
    [Description("Emergency unblinding of this one subject (reason required); the medical monitor is notified.")]
    public async Task<IResult> Unblind([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "studies/{studyId}/subjects/{subjectId}/unblind")] HttpRequest req, string studyId, string subjectId, CancellationToken ct)
    {
        var read = await body.ReadAsync<ReasonRequest>(req, ct);
        if (!read.IsSuccess)
        {
            return Problems.From(read.Error!);
        }

        if (read.Value.Check() is { } invalid)
        {
            return Problems.From(invalid);
        }

        var (context, _, refusal) = await StudyContext.ResolveSubjectAsync(studyId, subjectId, StudyAction.Unblind, req.HttpContext, ct);
        if (refusal is not null)
        {
            return refusal;
        }

        var monitors = await recipients.InStudyAsync(studyId, a => a.Role == Role.MedicalMonitor, 10, ct);
        var config = context!.Study.Configuration;
        var disclosed = false;
        var answer = await context.WriteAsync(async attemptCt =>
        {
            var stored = (await SubjectRows.GetAsync(context.Table, studyId, subjectId, attemptCt))!;
            var now = time.GetUtcNow();
            var subject = stored.Subject with { Unblinded = true };
            var actions = new StudyChange { SubjectRows.Replace(studyId, subject, stored.ETag) };

            // Every disclosure is its own audited event, even for a subject already unblinded.
            await AuditTrail.SubmitAsync(context.Table, studyId, actions, now, new AuditEntry(
                context.Caller.UserId, context.ActingAs.Name(), Channel.Http, "subject.unblinded", $"subject:{subjectId}",
                [new AuditChange("unblinded", stored.Subject.Unblinded ? "true" : "false", "true"), new AuditChange("arm", null, subject.ArmCode, Unblinded: true)],
                read.Value.Reason!.Trim()), attemptCt, (sequence, list) =>
                SmsNotices.Queue(list, studyId, sequence, monitors,
                    $"Iwrs {studyId}: subject {subject.Number} at site {subject.SiteId} was unblinded in an emergency by {context.Caller.UserId} at {now:yyyy-MM-dd HH:mm} UTC. The reason is in the audit trail.",
                    "subject.unblinded", now));
            var arm = config.Arms.First(a => a.Code == subject.ArmCode);
            disclosed = true;
            return Result<UnblindingView>.Ok(new UnblindingView(subjectId, subject.Number, arm.Code, arm.Name, arm.KitType, now));
        }, TypedResults.Ok, ct);

        // A disclosure is the event most worth pinning at once: a signed checkpoint now, not at the next hourly run.
        // The disclosure has happened either way, so a failed checkpoint is logged (the timer retries), not answered.
        if (disclosed)
        {
            await checkpoints.TryCheckpointAsync(context.Table, studyId, ct);
        }

        return answer;
    }
}

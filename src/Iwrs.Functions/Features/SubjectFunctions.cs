using Iwrs.Domain;
using Iwrs.Domain.Access;
using Iwrs.Domain.Audit;
using Iwrs.Domain.Subjects;
using Iwrs.Functions.Errors;
using Iwrs.Functions.Hosting;
using Iwrs.Storage.Stores;
using System.ComponentModel;
using Microsoft.Azure.Functions.Worker;
using static Iwrs.Functions.Features.SubjectViews;

namespace Iwrs.Functions.Features;

/// <summary>A subject's record, and the end of its treatment.</summary>
public sealed class SubjectFunctions(RequestBody body, TimeProvider time)
{
    [Function("GetSubject")]
    [Description("The subject; arm and kit type for unblinded roles only.")]
    public async Task<IResult> GetSubject([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "studies/{studyId}/subjects/{subjectId}")] HttpRequest req, string studyId, string subjectId, CancellationToken ct)
    {
        var (context, first, refusal) = await StudyContext.ResolveSubjectAsync(studyId, subjectId, StudyAction.ViewSubject, req.HttpContext, ct);
        return refusal ?? TypedResults.Ok(View(first!.Subject, context!.Unblinded));
    }

    [Function("ListSiteSubjects")]
    [Description("The subjects randomized or enrolled at one site, in number order; blinded views for blinded roles.")]
    public async Task<IResult> ListSiteSubjects([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "studies/{studyId}/sites/{siteId}/subjects")] HttpRequest req, string studyId, string siteId, CancellationToken ct)
    {
        var (context, refusal) = await StudyContext.ResolveAsync(studyId, StudyAction.ViewSubject, siteId, req.HttpContext, ct);
        if (refusal is not null)
        {
            return refusal;
        }

        if (context!.Study.Configuration.Sites.All(s => s.SiteId != siteId))
        {
            return Problems.From(new DomainError("site-not-found", $"There is no site '{siteId}' in this study."));
        }

        // One range read of the study's subject rows (the site's are picked from them): bounded by the study's size.
        var subjects = await SubjectRows.AllAsync(context.Table, studyId, ct);
        return TypedResults.Ok(subjects.Where(s => s.SiteId == siteId).OrderBy(s => s.Number, StringComparer.Ordinal).Select(s => View(s, context.Unblinded)).ToList());
    }

    [Function("Discontinue")]
    [Description("Record that the subject stops treatment (reason required); no further dispensing.")]
    public async Task<IResult> Discontinue([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "studies/{studyId}/subjects/{subjectId}/discontinue")] HttpRequest req, string studyId, string subjectId, CancellationToken ct)
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

        var (context, _, refusal) = await StudyContext.ResolveSubjectAsync(studyId, subjectId, StudyAction.Discontinue, req.HttpContext, ct);
        if (refusal is not null)
        {
            return refusal;
        }

        return await context!.WriteAsync(async attemptCt =>
        {
            var stored = (await SubjectRows.GetAsync(context.Table, studyId, subjectId, attemptCt))!;
            if (stored.Subject.Status == SubjectStatus.Discontinued)
            {
                return Result<Subject>.Ok(stored.Subject);
            }

            var now = time.GetUtcNow();
            var subject = stored.Subject with { Status = SubjectStatus.Discontinued, DiscontinuationReason = read.Value.Reason!.Trim() };
            var actions = new StudyChange { SubjectRows.Replace(studyId, subject, stored.ETag) };

            // Subject packs: the subject's pack at the site is retired and nothing more is owed (kits still on the way
            // are retired when their shipment is released).
            var retired = 0;
            if (context.Study.Configuration.SubjectPacks is not null)
            {
                foreach (var kit in await KitRows.PackAsync(context.Table, studyId, subject.SiteId, subjectId, attemptCt))
                {
                    actions.AddRange(KitRows.Retire(studyId, kit));
                    retired++;
                }

                if (await PackRows.GetAsync(context.Table, studyId, subject.SiteId, subjectId, attemptCt) is { } ledger)
                {
                    actions.Add(PackRows.Delete(studyId, ledger));
                }
            }

            await AuditTrail.SubmitAsync(context.Table, studyId, actions, now, new AuditEntry(
                context.Caller.UserId, context.ActingAs.Name(), Channel.Http, "subject.discontinued", $"subject:{subjectId}",
                [
                    new AuditChange("status", "randomized", "discontinued"),
                    .. retired > 0 ? [new AuditChange("packKitsRetired", null, retired.ToString(System.Globalization.CultureInfo.InvariantCulture))] : Array.Empty<AuditChange>(),
                ], subject.DiscontinuationReason), attemptCt);
            return Result<Subject>.Ok(subject);
        }, s => TypedResults.Ok(View(s, context.Unblinded)), ct);
    }
}

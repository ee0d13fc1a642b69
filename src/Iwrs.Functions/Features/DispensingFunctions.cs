using Iwrs.Domain;
using Iwrs.Domain.Access;
using Iwrs.Domain.Audit;
using Iwrs.Domain.Subjects;
using Iwrs.Domain.Supply;
using Iwrs.Functions.Errors;
using Iwrs.Storage.Stores;
using System.ComponentModel;
using Microsoft.Azure.Functions.Worker;
using static Iwrs.Functions.Features.SubjectViews;

namespace Iwrs.Functions.Features;

/// <summary>Dispensing a randomized subject's kits for a visit.</summary>
public sealed class DispensingFunctions(TimeProvider time, IRandomSource random, SupplyHolds holds)
{
    [Function("Dispense")]
    [Description("Dispense the subject's kit for a visit; repeating it returns the same kit.")]
    public async Task<IResult> Dispense([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "studies/{studyId}/subjects/{subjectId}/visits/{visit}/dispense")] HttpRequest req, string studyId, string subjectId, string visit, CancellationToken ct)
    {
        var (context, resolved, refusal) = await StudyContext.ResolveSubjectAsync(studyId, subjectId, StudyAction.Dispense, req.HttpContext, ct);
        if (refusal is not null)
        {
            return refusal;
        }

        var result = await DispenseAsync(context!, resolved!, visit, time, random, holds, ct);
        if (!result.IsSuccess)
        {
            return Problems.From(result.Error!);
        }

        var view = View(result.Value.Subject, context!.Unblinded);
        return result.Value.Created ? TypedResults.Created($"/api/studies/{studyId}/subjects/{subjectId}", view) : TypedResults.Ok(view);
    }

    /// <summary>
    /// The dispensing itself, for every door (HTTP, SMS): <paramref name="context"/> was authorized at the subject's
    /// stored site (<paramref name="resolved"/>), and its channel is the audit record's. One transaction per visit; a
    /// repeat answers with the kit given the first time (<c>Created</c> false).
    /// </summary>
    public static async Task<Result<(Subject Subject, bool Created)>> DispenseAsync(
        StudyContext context, SubjectRows.StoredSubject resolved, string visit, TimeProvider time, IRandomSource random, SupplyHolds holds, CancellationToken ct)
    {
        var studyId = context.StudyId;
        var subjectId = resolved.Subject.SubjectId;
        var created = false;
        var result = await context.Writes.RunAsync(studyId, async attemptCt =>
        {
            // The head that guards the write is read before the shelf and the hold row: what the decision rests on being
            // absent (kits of another type, a hold) cannot change unseen in between, as every change moves the head.
            var head = AuditTrail.ReadHeadAsync(context.Table, studyId, attemptCt);
            var stored = (await SubjectRows.GetAsync(context.Table, studyId, subjectId, attemptCt))!;
            await head;
            var config = context.Study.Configuration;
            var check = SubjectRules.CheckDispense(config, stored.Subject, visit, stored.Subject.SiteId);
            if (!check.IsSuccess)
            {
                return Result<Subject>.Fail(check.Error!);
            }

            if (check.Value is not null)
            {
                return stored.Subject;
            }

            var now = time.GetUtcNow();
            var actions = new StudyChange();
            var kits = await RandomizationFunctions.TakeKits(context, config.FindSite(stored.Subject.SiteId)!, stored.Subject.KitType, visit, subjectId, now, random, actions, attemptCt);
            if (!kits.IsSuccess)
            {
                return Result<Subject>.Fail(kits.Error!);
            }

            var subject = stored.Subject with
            {
                Dispensations = [.. stored.Subject.Dispensations, .. kits.Value.Select(k => new Dispensation(visit, k, now, context.Caller.UserId))],
            };
            actions.Insert(0, SubjectRows.Replace(studyId, subject, stored.ETag));
            await AuditTrail.SubmitAsync(context.Table, studyId, actions, now, new AuditEntry(
                context.Caller.UserId, context.ActingAs.Name(), context.Channel, "kit.dispensed", $"subject:{subjectId}",
                [new AuditChange("visit", null, visit), new AuditChange("kitNumbers", null, string.Join(",", kits.Value))]), attemptCt, head: await head);
            created = true;
            return subject;
        }, ct);

        if (!result.IsSuccess)
        {
            if (result.Error!.Code == SupplyHold.Code)
            {
                await holds.EnterAsync(context, context.Study.Configuration.FindSite(resolved.Subject.SiteId)!, "dispensing", ct);
            }

            // Subject packs: a subject come after the timer stopped owing them packs gets one ordered now.
            if (result.Error.Code == SubjectPacks.PackNotOnSite && await LatePacks.OrderAsync(context, subjectId, visit, time, ct))
            {
                return result.Error with { Message = $"{result.Error.Message} It is ordered now: the depot sends it at the next resupply check." };
            }

            return result.Error!;
        }

        return (result.Value, created);
    }
}

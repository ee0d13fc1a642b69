using System.Globalization;
using Iwrs.Domain;
using Iwrs.Domain.Access;
using Iwrs.Domain.Audit;
using Iwrs.Domain.Randomization;
using Iwrs.Domain.Studies;
using Iwrs.Domain.Subjects;
using Iwrs.Domain.Supply;
using Iwrs.Functions.Errors;
using Iwrs.Functions.Hosting;
using Iwrs.Storage.Stores;
using System.ComponentModel;
using Microsoft.Azure.Functions.Worker;
using static Iwrs.Functions.Features.SubjectViews;

namespace Iwrs.Functions.Features;

/// <summary>Randomization (or, in a single-arm study, enrolment) of a subject, with the kits of its first visit.</summary>
public sealed class RandomizationFunctions(RequestBody body, TimeProvider time)
{
    [Function("Randomize")]
    [Description("Site coordinator: randomize (or, in a single-arm study, enrol) a subject; returns the number and kit. Repeating it returns the same allocation.")]
    public async Task<IResult> Randomize([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "studies/{studyId}/subjects/{subjectId}/randomize")] HttpRequest req, string studyId, string subjectId, CancellationToken ct)
    {
        var read = await body.ReadAsync<RandomizationRequest>(req, ct);
        if (!read.IsSuccess)
        {
            return Problems.From(read.Error!);
        }

        if (!Identifiers.IsValid(subjectId))
        {
            return Problems.From(DomainError.Validation([new FieldError("subjectId", $"must be {Identifiers.Rule}.")]));
        }

        if (read.Value.SiteId is null)
        {
            return Problems.From(DomainError.Validation([new FieldError("siteId", "is required: the site where the subject is randomized.")]));
        }

        var (context, refusal) = await StudyContext.ResolveAsync(studyId, StudyAction.Randomize, read.Value.SiteId, req.HttpContext, ct);
        if (refusal is not null)
        {
            return refusal;
        }

        var created = false;
        var result = await context!.Writes.RunAsync(studyId, async attemptCt =>
        {
            var decision = await DecideRandomization(context!, subjectId, read.Value, time, attemptCt);
            if (!decision.IsSuccess || decision.Value.Actions is null)
            {
                return decision.IsSuccess ? Result<Subject>.Ok(decision.Value.Subject) : Result<Subject>.Fail(decision.Error!);
            }

            var subject = decision.Value.Subject;
            var config = context!.Study.Configuration;
            await AuditTrail.SubmitAsync(context.Table, studyId, decision.Value.Actions, subject.RandomizedAt, new AuditEntry(
                context.Caller.UserId, context.ActingAs.Name(), Channel.Http,
                config.Allocation == Allocation.Randomized ? "subject.randomized" : "subject.enrolled", $"subject:{subjectId}",
                [
                    new AuditChange("siteId", null, subject.SiteId),
                    new AuditChange("number", null, subject.Number),
                    new AuditChange("kitNumbers", null, string.Join(",", subject.Dispensations.Select(d => d.KitNumber))),
                    new AuditChange("stratum", null, subject.StratumKey),
                    new AuditChange("listPosition", null, subject.ListPosition?.ToString(CultureInfo.InvariantCulture), Unblinded: true),
                    new AuditChange("arm", null, subject.ArmCode, Unblinded: config.IsBlinded),
                    new AuditChange("kitType", null, subject.KitType, Unblinded: config.IsBlinded),
                ]), attemptCt, head: decision.Value.Head);
            created = true;
            return Result<Subject>.Ok(subject);
        }, ct);

        if (!result.IsSuccess)
        {
            return Problems.From(result.Error!);
        }

        var view = View(result.Value, context!.Unblinded);
        return created ? TypedResults.Created($"/api/studies/{studyId}/subjects/{subjectId}", view) : TypedResults.Ok(view);
    }

    /// <summary>
    /// Reads what randomization needs — a bounded set of rows whatever the study's size: the subject, the active
    /// list, the stratum's pointer, the number counter, the audit head and the site's earliest-expiring usable kits
    /// of every type (together), then the slot under the pointer — and builds the one transaction that takes them
    /// all. Two read rounds after the caller's access, so a concurrent writer has little time to get in between.
    /// No actions means "already randomized, here it is".
    /// </summary>
    private static async Task<Result<(Subject Subject, StudyChange? Actions, AuditTrail.Head? Head)>> DecideRandomization(
        StudyContext context, string subjectId, RandomizationRequest request, TimeProvider time, CancellationToken ct)
    {
        var config = context.Study.Configuration;
        var studyId = config.StudyId;
        var randomized = config.Allocation == Allocation.Randomized;
        var stratum = randomized && Identifiers.IsValid(subjectId) ? Strata.For(config, request.SiteId!, request.StratificationFactors) : default;
        var stratumKey = stratum.IsSuccess && randomized ? stratum.Value.Key : null;

        var subjectTask = Identifiers.IsValid(subjectId) ? SubjectRows.GetAsync(context.Table, studyId, subjectId, ct) : Task.FromResult<SubjectRows.StoredSubject?>(null);
        var listTask = stratumKey is null ? Task.FromResult<ListRows.ActiveList?>(null) : ListRows.GetActiveAsync(context.Table, studyId, ct);
        var pointerTask = stratumKey is null ? Task.FromResult(new ListRows.Pointer(1, null)) : ListRows.GetPointerAsync(context.Table, studyId, stratumKey, ct);
        var counterTask = SubjectRows.GetCounterAsync(context.Table, studyId, ct);
        var headTask = AuditTrail.ReadHeadAsync(context.Table, studyId, ct);

        // The shelves need only the site and today's date, not the arm: read every type's now, beside the rest,
        // so that the slot is the only read left for a second round.
        var now = time.GetUtcNow();
        var site = Identifiers.IsValid(request.SiteId) ? config.FindSite(request.SiteId!) : null;
        var shelvesTask = ShelvesOrNoneAsync();
        await Task.WhenAll(subjectTask, listTask, pointerTask, counterTask, headTask, shelvesTask);

        async Task<Shelves?> ShelvesOrNoneAsync() => site is null ? null : await ReadShelvesAsync(context, site, [.. config.KitTypes.Select(k => k.Code)], now, ct);

        var check = SubjectRules.CheckRandomization(config, subjectId, request, (await subjectTask)?.Subject);
        if (!check.IsSuccess)
        {
            return check.Error!;
        }

        if (check.Value is { } done)
        {
            return (done, null, null);
        }

        site = config.FindSite(request.SiteId!)!;
        var actions = new StudyChange();
        var arm = config.Arms[0];
        int? position = null;
        if (randomized)
        {
            if (!stratum.IsSuccess)
            {
                return stratum.Error!;
            }

            var list = await listTask;
            if (list is null)
            {
                return new DomainError("no-active-list", "No randomization list is active in this study yet.");
            }

            var pointer = await pointerTask;
            var slot = pointer.Next <= list.SlotCounts.GetValueOrDefault(stratumKey!)
                ? await ListRows.GetSlotAsync(context.Table, studyId, stratumKey!, pointer.Next, ct)
                : null;
            if (slot is { SubjectId: not null } && slot.ListId == list.ListId)
            {
                // Read between another randomization's pointer move and ours: decide again from fresh reads.
                throw new ConcurrentChangeException($"Slot {pointer.Next} of {stratumKey} was taken meanwhile.");
            }

            if (slot is null || slot.ListId != list.ListId)
            {
                return new DomainError("list-exhausted", "The randomization list has no slot left for this subject's stratum. Nothing was used; contact the study's unblinded statistician.");
            }

            arm = config.Arms.First(a => a.Code == slot.Slot.ArmCode);
            position = slot.Slot.Position;
            actions.Add(ListRows.AdvancePointer(studyId, stratumKey!, pointer));
            actions.Add(ListRows.UseSlot(studyId, slot, subjectId));
        }

        var kits = TakeKits(context, site, arm.KitType, (await shelvesTask)!, $"{config.VisitSchedule.VisitPrefix}1", subjectId, actions);
        if (!kits.IsSuccess)
        {
            return kits.Error!;
        }

        var counter = await counterTask;
        actions.Add(counter.Advance(studyId));
        var subject = new Subject(
            subjectId, site.SiteId, SubjectStatus.Randomized, SubjectRules.FormatNumber(config, counter.Next), stratumKey, position,
            arm.Code, arm.KitType, now, context.Caller.UserId,
            kits.Value.Select(k => new Dispensation($"{config.VisitSchedule.VisitPrefix}1", k, now, context.Caller.UserId)).ToList(),
            Unblinded: false, DiscontinuationReason: null);

        // Inserting the subject row is what makes randomization happen once: a concurrent twin fails on it.
        actions.Insert(0, SubjectRows.Insert(studyId, subject));
        return (subject, actions, await headTask);
    }

    /// <summary>
    /// Takes the visit's kits of <paramref name="kitType"/> from the site's shelf: earliest expiry first among kits
    /// that last to the next visit plus the do-not-dispense days, random among equal expiry (the index's sort key).
    /// </summary>
    internal static async Task<Result<IReadOnlyList<string>>> TakeKits(
        StudyContext context, Site site, string kitType, string visit, string subjectId, DateTimeOffset now, StudyChange actions, CancellationToken ct)
    {
        // In a blinded study a refusal must not depend on the arm, so every type's shelf is read (one read per type).
        var types = context.Study.Configuration.IsBlinded ? context.Study.Configuration.KitTypes.Select(k => k.Code).ToList() : [kitType];
        return TakeKits(context, site, kitType, await ReadShelvesAsync(context, site, types, now, ct), visit, subjectId, actions);
    }

    /// <summary>Per kit type, the site's first usable kits for a visit today: enough for one visit, one range read each.</summary>
    private sealed record Shelves(IReadOnlyDictionary<string, IReadOnlyList<KitRows.IndexEntry>> ByType);

    private static async Task<Shelves> ReadShelvesAsync(StudyContext context, Site site, IReadOnlyList<string> types, DateTimeOffset now, CancellationToken ct)
    {
        var config = context.Study.Configuration;
        var earliest = Dispensability.EarliestAllowedExpiry(DateOnly.FromDateTime(now.UtcDateTime), config.VisitSchedule, site.Supply);
        var shelves = await Task.WhenAll(types.Select(t => KitRows.FirstAsync(context.Table, config.StudyId, $"{KitRows.AvailablePrefix}{site.SiteId}|{t}|", earliest, config.VisitSchedule.KitsPerVisit, ct)));
        return new Shelves(types.Select((t, i) => (t, shelves[i])).ToDictionary(x => x.t, x => x.Item2, StringComparer.Ordinal));
    }

    private static Result<IReadOnlyList<string>> TakeKits(StudyContext context, Site site, string kitType, Shelves read, string visit, string subjectId, StudyChange actions)
    {
        var config = context.Study.Configuration;
        var count = config.VisitSchedule.KitsPerVisit;

        // In a blinded study a refusal must not depend on the arm: if any kit type is short at the site, every
        // subject is refused, so a coordinator cannot tell which subjects share an arm.
        var shelves = config.IsBlinded ? read.ByType.Values.ToList() : [read.ByType[kitType]];
        var entries = read.ByType[kitType];
        if (shelves.Any(shelf => shelf.Count < count))
        {
            // Said the same way whatever the arm, so the refusal itself reveals nothing.
            return new DomainError("no-kit-available", $"Site '{site.SiteId}' has no usable kit for this subject. Nothing was used; the depot has been asked to resupply when the next check runs.");
        }

        foreach (var entry in entries)
        {
            actions.AddRange(KitRows.Dispense(config.StudyId, entry, subjectId, visit));
        }

        return entries.Select(e => e.KitNumber).ToList();
    }
}

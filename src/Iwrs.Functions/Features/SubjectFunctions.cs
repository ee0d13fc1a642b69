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
using Iwrs.Functions.Notifications;
using Iwrs.Storage.Stores;
using System.ComponentModel;
using Microsoft.Azure.Functions.Worker;

namespace Iwrs.Functions.Features;

/// <summary>Randomization (or enrolment), dispensing, discontinuation, emergency unblinding, and a subject's record.</summary>
public sealed class SubjectFunctions(RequestBody body, TimeProvider time, RoleAssignmentStore roles)
{
    public sealed record DispenseRequest(string? SiteId);

    public sealed record ReasonRequest(string? Reason);

    public sealed record DispensationView(string Visit, string KitNumber, DateTimeOffset At);

    /// <summary>What a blinded caller may know of a subject: numbers, kits and dates, never arm or kit type.</summary>
    public sealed record SubjectView(
        string SubjectId, string SiteId, string Status, string Number, DateTimeOffset RandomizedAt, IReadOnlyList<DispensationView> Dispensations,
        bool Unblinded, string? DiscontinuationReason, string? Arm, string? KitType, string? Stratum, int? ListPosition);

    public sealed record UnblindingView(string SubjectId, string Number, string Arm, string ArmName, string KitType, DateTimeOffset UnblindedAt);

    [Function("Randomize")]
    [Description("Site coordinator: randomize (or, in a single-arm study, enrol) a subject; returns the number and kit. Repeating it returns the same allocation.")]
    public Task<IResult> RandomizeFunction([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "studies/{studyId}/subjects/{subjectId}/randomize")] HttpRequest req, string studyId, string subjectId, CancellationToken ct) =>
        Randomize(studyId, subjectId, req, req.HttpContext, body, time, ct);

    [Function("Dispense")]
    [Description("Dispense the subject's kit for a visit; repeating it returns the same kit.")]
    public Task<IResult> DispenseFunction([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "studies/{studyId}/subjects/{subjectId}/visits/{visit}/dispense")] HttpRequest req, string studyId, string subjectId, string visit, CancellationToken ct) =>
        Dispense(studyId, subjectId, visit, req.HttpContext, time, ct);

    [Function("Discontinue")]
    [Description("Record that the subject stops treatment (reason required); no further dispensing.")]
    public Task<IResult> DiscontinueFunction([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "studies/{studyId}/subjects/{subjectId}/discontinue")] HttpRequest req, string studyId, string subjectId, CancellationToken ct) =>
        Discontinue(studyId, subjectId, req, req.HttpContext, body, time, ct);

    [Function("Unblind")]
    [Description("Emergency unblinding of this one subject (reason required); the medical monitor is notified.")]
    public Task<IResult> UnblindFunction([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "studies/{studyId}/subjects/{subjectId}/unblind")] HttpRequest req, string studyId, string subjectId, CancellationToken ct) =>
        Unblind(studyId, subjectId, req, req.HttpContext, body, time, roles, ct);

    [Function("GetSubject")]
    [Description("The subject; arm and kit type for unblinded roles only.")]
    public Task<IResult> GetSubjectFunction([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "studies/{studyId}/subjects/{subjectId}")] HttpRequest req, string studyId, string subjectId, CancellationToken ct) =>
        Get(studyId, subjectId, req.HttpContext, ct);

    public static SubjectView View(Subject s, bool unblinded) => new(
        s.SubjectId, s.SiteId, Subject.StatusName(s.Status), s.Number, s.RandomizedAt,
        s.Dispensations.Select(d => new DispensationView(d.Visit, d.KitNumber, d.At)).ToList(),
        s.Unblinded, s.DiscontinuationReason,
        unblinded ? s.ArmCode : null, unblinded ? s.KitType : null, unblinded ? s.StratumKey : null, unblinded ? s.ListPosition : null);

    private static async Task<IResult> Randomize(string studyId, string subjectId, HttpRequest request, HttpContext http, RequestBody body, TimeProvider time, CancellationToken ct)
    {
        var read = await body.ReadAsync<RandomizationRequest>(request, ct);
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

        var (context, refusal) = await StudyContext.ResolveAsync(studyId, StudyAction.Randomize, read.Value.SiteId, http, ct);
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
    private static async Task<Result<IReadOnlyList<string>>> TakeKits(
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

    private static async Task<IResult> Dispense(string studyId, string subjectId, string visit, HttpContext http, TimeProvider time, CancellationToken ct)
    {
        var (context, _, refusal) = await ResolveSubjectAsync(studyId, subjectId, StudyAction.Dispense, http, ct);
        if (refusal is not null)
        {
            return refusal;
        }

        var created = false;
        var result = await context!.Writes.RunAsync(studyId, async attemptCt =>
        {
            var stored = (await SubjectRows.GetAsync(context!.Table, studyId, subjectId, attemptCt))!;
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
            var kits = await TakeKits(context, config.FindSite(stored.Subject.SiteId)!, stored.Subject.KitType, visit, subjectId, now, actions, attemptCt);
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
                context.Caller.UserId, context.ActingAs.Name(), Channel.Http, "kit.dispensed", $"subject:{subjectId}",
                [new AuditChange("visit", null, visit), new AuditChange("kitNumbers", null, string.Join(",", kits.Value))]), attemptCt);
            created = true;
            return subject;
        }, ct);

        if (!result.IsSuccess)
        {
            return Problems.From(result.Error!);
        }

        var view = View(result.Value, context!.Unblinded);
        return created ? TypedResults.Created($"/api/studies/{studyId}/subjects/{subjectId}", view) : TypedResults.Ok(view);
    }

    private static async Task<IResult> Discontinue(string studyId, string subjectId, HttpRequest request, HttpContext http, RequestBody body, TimeProvider time, CancellationToken ct)
    {
        var read = await body.ReadAsync<ReasonRequest>(request, ct);
        if (!read.IsSuccess)
        {
            return Problems.From(read.Error!);
        }

        if (Reason(read.Value.Reason) is { } invalid)
        {
            return Problems.From(invalid);
        }

        var (context, _, refusal) = await ResolveSubjectAsync(studyId, subjectId, StudyAction.Discontinue, http, ct);
        if (refusal is not null)
        {
            return refusal;
        }

        return await ResultProblems.WriteAsync(context!, async attemptCt =>
        {
            var stored = (await SubjectRows.GetAsync(context!.Table, studyId, subjectId, attemptCt))!;
            if (stored.Subject.Status == SubjectStatus.Discontinued)
            {
                return Result<Subject>.Ok(stored.Subject);
            }

            var now = time.GetUtcNow();
            var subject = stored.Subject with { Status = SubjectStatus.Discontinued, DiscontinuationReason = read.Value.Reason!.Trim() };
            var actions = new StudyChange { SubjectRows.Replace(studyId, subject, stored.ETag) };
            await AuditTrail.SubmitAsync(context.Table, studyId, actions, now, new AuditEntry(
                context.Caller.UserId, context.ActingAs.Name(), Channel.Http, "subject.discontinued", $"subject:{subjectId}",
                [new AuditChange("status", "randomized", "discontinued")], subject.DiscontinuationReason), attemptCt);
            return Result<Subject>.Ok(subject);
        }, s => TypedResults.Ok(View(s, context!.Unblinded)), ct);
    }

    private static async Task<IResult> Unblind(string studyId, string subjectId, HttpRequest request, HttpContext http, RequestBody body, TimeProvider time, RoleAssignmentStore roles, CancellationToken ct)
    {
        var read = await body.ReadAsync<ReasonRequest>(request, ct);
        if (!read.IsSuccess)
        {
            return Problems.From(read.Error!);
        }

        if (Reason(read.Value.Reason) is { } invalid)
        {
            return Problems.From(invalid);
        }

        var (context, _, refusal) = await ResolveSubjectAsync(studyId, subjectId, StudyAction.Unblind, http, ct);
        if (refusal is not null)
        {
            return refusal;
        }

        var monitors = (await roles.AllAsync(studyId, ct)).Where(a => a.Assignment.Role == Role.MedicalMonitor && a.Phone is not null)
            .Select(a => (a.Assignment.Role, a.Assignment.UserId, a.Phone!)).Take(10).ToList();
        var config = context!.Study.Configuration;
        return await ResultProblems.WriteAsync(context!, async attemptCt =>
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
            return Result<UnblindingView>.Ok(new UnblindingView(subjectId, subject.Number, arm.Code, arm.Name, arm.KitType, now));
        }, TypedResults.Ok, ct);
    }

    private static async Task<IResult> Get(string studyId, string subjectId, HttpContext http, CancellationToken ct)
    {
        var (context, first, refusal) = await ResolveSubjectAsync(studyId, subjectId, StudyAction.ViewSubject, http, ct);
        return refusal ?? TypedResults.Ok(View(first!.Subject, context!.Unblinded));
    }

    /// <summary>
    /// For actions on an existing subject: reads the subject first and authorizes at its stored site, never at a
    /// site the caller names. A subject that does not exist is a 404, after authorization, so nobody without a
    /// role learns which subject ids exist.
    /// </summary>
    private static async Task<(StudyContext? Context, SubjectRows.StoredSubject? Subject, IResult? Refusal)> ResolveSubjectAsync(
        string studyId, string subjectId, StudyAction action, HttpContext http, CancellationToken ct)
    {
        var table = await http.RequestServices.GetRequiredService<IwrsTable>().GetAsync(ct);
        var subject = Identifiers.IsValid(studyId) && Identifiers.IsValid(subjectId) ? await SubjectRows.GetAsync(table, studyId, subjectId, ct) : null;
        var (context, refusal) = await StudyContext.ResolveAsync(studyId, action, subject?.Subject.SiteId, http, ct);
        if (refusal is not null)
        {
            return (null, null, refusal);
        }

        return subject is null
            ? (null, null, Problems.From(new DomainError("subject-not-found", $"There is no subject '{subjectId}' in this study.")))
            : (context, subject, null);
    }

    private static DomainError? Reason(string? reason) =>
        string.IsNullOrWhiteSpace(reason) || reason.Length > 1000
            ? DomainError.Validation([new FieldError("reason", "is required (at most 1000 characters).")])
            : null;
}

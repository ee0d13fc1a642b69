using System.Globalization;
using Iwrs.Domain;
using Iwrs.Domain.Access;
using Iwrs.Domain.Audit;
using Iwrs.Domain.Randomization;
using Iwrs.Domain.Studies;
using Iwrs.Domain.Subjects;
using Iwrs.Domain.Supply;
using Iwrs.Functions.Errors;
using Azure.Data.Tables;
using Iwrs.Storage.Stores;
using System.ComponentModel;
using Microsoft.Azure.Functions.Worker;

namespace Iwrs.Functions.Features;

/// <summary>Randomization (or enrolment), dispensing, discontinuation, emergency unblinding, and a subject's record.</summary>
public sealed class SubjectFunctions(JsonBody body, TimeProvider time, RoleAssignmentStore roles)
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

    private static async Task<IResult> Randomize(string studyId, string subjectId, HttpRequest request, HttpContext http, JsonBody body, TimeProvider time, CancellationToken ct)
    {
        var read = await body.ReadAsync<RandomizationRequest>(request, ct);
        if (!read.IsSuccess)
        {
            return read.Error!.ToProblem();
        }

        if (!Identifiers.IsValid(subjectId))
        {
            return Problems.From(DomainError.Validation([new FieldError("subjectId", $"must be {Identifiers.Rule}.")]));
        }

        if (read.Value.SiteId is null)
        {
            return Problems.From(DomainError.Validation([new FieldError("siteId", "is required: the site where the subject is randomized.")]));
        }

        // The state rows need no authorization to be read, only to be used: read them beside the caller's access and
        // the study (one round). Another writer of this study in this instance makes them stale; then they are read again.
        var services = http.RequestServices;
        var writes = services.GetRequiredService<StudyWrites>();
        var version = writes.Version(studyId);
        var prefetch = Identifiers.IsValid(studyId) ? PrefetchAsync(services.GetRequiredService<IwrsTable>(), studyId, ct) : null;
        var (context, refusal) = await StudyContext.ResolveAsync(studyId, StudyAction.Randomize, read.Value.SiteId, http, ct);
        if (refusal is not null)
        {
            return refusal;
        }

        var created = false;
        var result = await context!.Writes.RunAsync(studyId, async attemptCt =>
        {
            var fresh = prefetch is not null && writes.Version(studyId) == version;
            var state = fresh ? await prefetch! : await RandomizationState.ReadAsync(context.Table, studyId, attemptCt);
            prefetch = null;
            var decision = await AssignAsync(context, subjectId, read.Value, state, time, attemptCt);
            if (!decision.IsSuccess || decision.Value.Actions is null)
            {
                return decision.IsSuccess ? Result<Subject>.Ok(decision.Value.Subject) : Result<Subject>.Fail(decision.Error!);
            }

            var subject = decision.Value.Subject;
            var config = context.Study.Configuration;
            try
            {
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
                    ]), attemptCt, head: state.Head);
            }
            catch (TableTransactionFailedException e) when (e.Status == 409 && e.FailedTransactionActionIndex == 0)
            {
                // The subject row exists: randomized already (a repeat, or a twin that won), so nothing of ours was used.
                return await ExistingAsync(context, subjectId, read.Value, attemptCt)
                    ?? throw new ConcurrentChangeException($"Subject {subjectId} was there and is gone.");
            }

            created = true;
            return Result<Subject>.Ok(subject);
        }, ct);

        if (!result.IsSuccess)
        {
            return result.Error!.ToProblem();
        }

        var view = View(result.Value, context!.Unblinded);
        return created ? TypedResults.Created($"/api/studies/{studyId}/subjects/{subjectId}", view) : TypedResults.Ok(view);
    }

    private static async Task<RandomizationState> PrefetchAsync(IwrsTable tables, string studyId, CancellationToken ct) =>
        await RandomizationState.ReadAsync(await tables.GetAsync(ct), studyId, ct);

    /// <summary>
    /// What an already randomized subject's request answers (its allocation, or that it is at another site): null
    /// when the subject does not exist. Read only when the fast path was refused, so a repeat answers as it always did.
    /// </summary>
    private static async Task<Result<Subject>?> ExistingAsync(StudyContext context, string subjectId, RandomizationRequest request, CancellationToken ct)
    {
        if (await SubjectRows.GetAsync(context.Table, context.StudyId, subjectId, ct) is not { } stored)
        {
            return null;
        }

        var check = SubjectRules.CheckRandomization(context.Study.Configuration, subjectId, request, stored.Subject);
        return check.IsSuccess ? Result<Subject>.Ok(check.Value!) : Result<Subject>.Fail(check.Error!);
    }

    /// <summary>
    /// Decides a randomization from the state rows (one range read, done beside the caller's access) and one more
    /// round of reads — the slot under the stratum's pointer and the site's first usable kits of every type, together —
    /// and builds the one transaction that takes them all. The subject's row is not read first: inserting it is what
    /// makes randomization happen once, and a refusal or a failed insert looks it up then. No actions means
    /// "already randomized, here it is".
    /// </summary>
    private static async Task<Result<(Subject Subject, StudyChange? Actions)>> AssignAsync(
        StudyContext context, string subjectId, RandomizationRequest request, RandomizationState state, TimeProvider time, CancellationToken ct)
    {
        var config = context.Study.Configuration;
        var studyId = config.StudyId;
        var decision = await DecideAsync(context, subjectId, request, state, time, ct);
        if (!decision.IsSuccess)
        {
            return await ExistingAsync(context, subjectId, request, ct) is { } existing
                ? existing.IsSuccess ? (existing.Value, null) : existing.Error!
                : decision.Error!;
        }

        var (assignment, stratumKey, slot, shelves) = decision.Value;
        var subject = assignment.Subject;
        var actions = new StudyChange { SubjectRows.Insert(studyId, subject) };
        if (slot is not null)
        {
            actions.Add(ListRows.AdvancePointer(studyId, stratumKey!, state.PointerFor(stratumKey!)));
            actions.Add(ListRows.UseSlot(studyId, slot, subjectId));
        }

        var visit = subject.Dispensations[0].Visit;
        foreach (var entry in shelves.ByType[subject.KitType].Where(e => assignment.KitNumbers.Contains(e.KitNumber)))
        {
            actions.AddRange(KitRows.Dispense(studyId, entry, subjectId, visit));
        }

        actions.Add(state.SubjectNumbers.Advance(studyId));
        return (subject, actions);
    }

    private static async Task<Result<(Assignment Assignment, string? StratumKey, ListRows.StoredSlot? Slot, Shelves Shelves)>> DecideAsync(
        StudyContext context, string subjectId, RandomizationRequest request, RandomizationState state, TimeProvider time, CancellationToken ct)
    {
        var config = context.Study.Configuration;
        var check = SubjectRules.CheckRandomization(config, subjectId, request, existing: null);
        if (!check.IsSuccess)
        {
            return check.Error!;
        }

        Stratum? stratum = null;
        if (config.Allocation == Allocation.Randomized)
        {
            var found = Strata.For(config, request.SiteId!, request.StratificationFactors);
            if (!found.IsSuccess)
            {
                return found.Error!;
            }

            stratum = found.Value;
        }

        var now = time.GetUtcNow();
        var site = config.FindSite(request.SiteId!)!;
        var list = state.List;
        var pointer = stratum is null ? null : state.PointerFor(stratum.Key);
        var slotTask = list is not null && pointer is not null && pointer.Next <= list.SlotCounts.GetValueOrDefault(stratum!.Key)
            ? ListRows.GetSlotAsync(context.Table, config.StudyId, stratum.Key, pointer.Next, ct)
            : Task.FromResult<ListRows.StoredSlot?>(null);
        var shelvesTask = ReadShelvesAsync(context, site, [.. config.KitTypes.Select(k => k.Code)], now, ct);
        await Task.WhenAll(slotTask, shelvesTask);

        var slot = await slotTask;
        if (slot is { SubjectId: not null } && slot.ListId == list!.ListId)
        {
            // Read between another randomization's pointer move and ours: decide again from fresh reads.
            throw new ConcurrentChangeException($"Slot {pointer!.Next} of {stratum!.Key} was taken meanwhile.");
        }

        var usable = slot is not null && slot.ListId == list!.ListId ? slot : null;
        var shelves = await shelvesTask;
        var assignment = RandomizationDecision.Decide(
            config, subjectId, request, stratum, list is not null, usable?.Slot,
            shelves.ByType.ToDictionary(t => t.Key, t => (IReadOnlyList<string>)[.. t.Value.Select(e => e.KitNumber)], StringComparer.Ordinal),
            state.SubjectNumbers.Next, now, context.Caller.UserId);
        return assignment.IsSuccess ? (assignment.Value, stratum?.Key, usable, shelves) : assignment.Error!;
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
            return result.Error!.ToProblem();
        }

        var view = View(result.Value, context!.Unblinded);
        return created ? TypedResults.Created($"/api/studies/{studyId}/subjects/{subjectId}", view) : TypedResults.Ok(view);
    }

    private static async Task<IResult> Discontinue(string studyId, string subjectId, HttpRequest request, HttpContext http, JsonBody body, TimeProvider time, CancellationToken ct)
    {
        var read = await body.ReadAsync<ReasonRequest>(request, ct);
        if (!read.IsSuccess)
        {
            return read.Error!.ToProblem();
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

    private static async Task<IResult> Unblind(string studyId, string subjectId, HttpRequest request, HttpContext http, JsonBody body, TimeProvider time, RoleAssignmentStore roles, CancellationToken ct)
    {
        var read = await body.ReadAsync<ReasonRequest>(request, ct);
        if (!read.IsSuccess)
        {
            return read.Error!.ToProblem();
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
                Shipping.Enqueue(list, studyId, sequence, monitors,
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

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
using Azure.Data.Tables;
using Iwrs.Storage.Stores;
using System.ComponentModel;
using Microsoft.Azure.Functions.Worker;
using static Iwrs.Functions.Features.SubjectViews;

namespace Iwrs.Functions.Features;

/// <summary>Randomization (or, in a single-arm study, enrolment) of a subject, with the kits of its first visit.</summary>
public sealed class RandomizationFunctions(RequestBody body, TimeProvider time, IRandomSource random, SupplyHolds holds)
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

        // The state rows (the study's among them) and the site's shelf need no authorization to be read, only to be
        // used: read them beside the caller's access (one round). The state as this instance's own last write left it
        // needs no read at all (RandomizationViews). When another writer of this study in this instance holds its
        // turn, whatever is read now is stale when ours comes: then nothing is read early, the study to authorize
        // against is the last one this instance saw, and the writer's turn reads what it decides from.
        var services = req.HttpContext.RequestServices;
        var writes = services.GetRequiredService<StudyWrites>();
        var views = services.GetRequiredService<RandomizationViews>();
        var studies = services.GetRequiredService<StudyStore>();
        var siteId = read.Value.SiteId;
        var version = writes.Version(studyId);
        var valid = Identifiers.IsValid(studyId) && Identifiers.IsValid(siteId);
        var queued = valid && writes.IsBusy(studyId);
        var prefetch = valid && !queued
            ? ReadAsync(await services.GetRequiredService<IwrsTable>().GetAsync(ct), studyId, siteId, views.Take(studyId, version), ct)
            : null;
        var known = queued ? studies.From(views.LastStudyRow(studyId)) : null;
        var (context, refusal) = await StudyContext.ResolveAsync(studyId, StudyAction.Randomize, siteId, req.HttpContext, ct,
            prefetch is not null ? StudyOf(prefetch, studies) : known is not null ? Task.FromResult<StoredStudy?>(known) : null);
        if (refusal is not null)
        {
            return refusal;
        }

        var result = await RandomizeAsync(context!, subjectId, read.Value, prefetch, version, time, random, holds, ct);
        if (!result.IsSuccess)
        {
            return Problems.From(result.Error!);
        }

        var view = View(result.Value.Subject, context!.Unblinded);
        return result.Value.Created ? TypedResults.Created($"/api/studies/{studyId}/subjects/{subjectId}", view) : TypedResults.Ok(view);
    }

    /// <summary>
    /// The randomization (or enrolment) itself, for every door (HTTP, SMS): the caller is authorized in
    /// <paramref name="context"/>, whose channel the audit record names. One transaction takes the slot, the kits, the
    /// subject's number and the audit record; a repeat answers with the first allocation (<c>Created</c> false).
    /// <paramref name="prefetch"/> holds the rows read beside the authorization, still current if this instance's
    /// write count for the study is <paramref name="version"/>.
    /// </summary>
    internal static async Task<Result<(Subject Subject, bool Created)>> RandomizeAsync(
        StudyContext context, string subjectId, RandomizationRequest request, Task<Basis>? prefetch, long version,
        TimeProvider time, IRandomSource random, SupplyHolds holds, CancellationToken ct)
    {
        var studyId = context.StudyId;
        var siteId = request.SiteId!;
        var writes = context.Writes;
        var views = context.Views;
        var studies = context.Studies;
        var created = false;

        // The study as the decision saw it (its state rows'), for everything said about the decision afterwards: the
        // request's own may be the last one this instance saw.
        var decided = context;
        var result = await writes.RunAsync(studyId, async attemptCt =>
        {
            var current = writes.Version(studyId);
            var basis = prefetch is not null && current == version
                ? await prefetch
                : await ReadAsync(context.Table, studyId, siteId, views.Take(studyId, current), attemptCt);
            prefetch = null;
            decided = In(context, basis.State, studies);
            var decision = await AssignAsync(decided, subjectId, request, basis.State, basis.Shelf, time, random, attemptCt);
            if ((!decision.IsSuccess || decision.Value.Actions is null) && basis.FromView)
            {
                // A view is only good for a decision that commits: refuse or answer only from fresh rows.
                basis = await ReadAsync(context.Table, studyId, siteId, view: null, attemptCt);
                decided = In(context, basis.State, studies);
                decision = await AssignAsync(decided, subjectId, request, basis.State, basis.Shelf, time, random, attemptCt);
            }

            if (!decision.IsSuccess || decision.Value.Actions is null)
            {
                return decision.IsSuccess ? Result<Subject>.Ok(decision.Value.Subject) : Result<Subject>.Fail(decision.Error!);
            }

            var subject = decision.Value.Subject;
            var config = decided.Study.Configuration;
            (AuditRecord Record, IReadOnlyDictionary<string, string>? ETags) committed;
            try
            {
                committed = await AuditTrail.SubmitTaggedAsync(context.Table, studyId, decision.Value.Actions, subject.RandomizedAt, new AuditEntry(
                    context.Caller.UserId, context.ActingAs.Name(), context.Channel,
                    config.Allocation == Allocation.Randomized ? "subject.randomized" : "subject.enrolled", $"subject:{subjectId}",
                    [
                        new AuditChange("siteId", null, subject.SiteId),
                        new AuditChange("number", null, subject.Number),
                        new AuditChange("kitNumbers", null, string.Join(",", subject.Dispensations.Select(d => d.KitNumber))),
                        new AuditChange("stratum", null, subject.StratumKey),
                        new AuditChange("listPosition", null, subject.ListPosition?.ToString(CultureInfo.InvariantCulture), Unblinded: true),
                        new AuditChange("arm", null, subject.ArmCode, Unblinded: config.IsBlinded),
                        new AuditChange("kitType", null, subject.KitType, Unblinded: config.IsBlinded),
                    ]), attemptCt, head: basis.State.Head);
            }
            catch (TableTransactionFailedException e) when (e.Status == 409 && e.FailedTransactionActionIndex == 0)
            {
                // The subject row exists: randomized already (a repeat, or a twin that won), so nothing of ours was used.
                return await ExistingAsync(decided, subjectId, request, attemptCt)
                    ?? throw new ConcurrentChangeException($"Subject {subjectId} was there and is gone.");
            }

            if (After(basis.State, subject, committed.Record, committed.ETags) is { } after)
            {
                // Current once this write's turn ends (StudyWrites counts it then).
                views.Keep(studyId, current + 1, after);
            }

            created = true;
            return Result<Subject>.Ok(subject);
        }, ct);

        if (!result.IsSuccess)
        {
            if (result.Error!.Code == SupplyHold.Code && decided.Study.Configuration.FindSite(siteId) is { } site)
            {
                await holds.EnterAsync(decided, site, "randomization", ct);
            }

            return result.Error!;
        }

        return (result.Value, created);
    }

    /// <summary>
    /// What a randomization decides from: the state (read, or this instance's view of it) and, with a view, the site's
    /// shelf. A shelf must be read after the head that guards the write: with a view the head is this instance's own
    /// last commit, read before anything; with fresh state rows the shelf is read after them, beside the slot.
    /// </summary>
    internal sealed record Basis(RandomizationState State, IReadOnlyList<KitRows.ShelfEntry>? Shelf, bool FromView);

    /// <summary>The state range (one read), or this instance's current view of it and the site's whole shelf.</summary>
    private static async Task<Basis> ReadAsync(TableClient table, string studyId, string siteId, RandomizationState? view, CancellationToken ct) =>
        view is null
            ? new Basis(await RandomizationState.ReadAsync(table, studyId, ct), null, false)
            : new Basis(view, await KitRows.ShelfAsync(table, studyId, siteId, ct), true);

    private static async Task<StoredStudy?> StudyOf(Task<Basis> read, StudyStore studies) => studies.From((await read).State.StudyRow);

    /// <summary>The request's context with the study as the state rows show it (the configuration the decision must use).</summary>
    private static StudyContext In(StudyContext context, RandomizationState state, StudyStore studies) =>
        studies.From(state.StudyRow) is { } study ? context with { Study = study } : context;

    /// <summary>
    /// The state after a committed randomization, from what it wrote and the ETags it got back: the head, the
    /// subject-number counter and the stratum's pointer moved, nothing else in the state range did. Null when the
    /// ETags are unknown (a commit recognised after a lost answer).
    /// </summary>
    private static RandomizationState? After(RandomizationState before, Subject subject, AuditRecord record, IReadOnlyDictionary<string, string>? tags)
    {
        if (tags is null || !tags.TryGetValue(AuditTrail.HeadRowKey, out var head) || !tags.TryGetValue(SubjectRows.CounterKey, out var counter))
        {
            return null;
        }

        var pointers = before.Pointers;
        if (subject.StratumKey is { } stratum && tags.TryGetValue(ListRows.PointerKey(stratum), out var pointer))
        {
            pointers = new Dictionary<string, ListRows.Pointer>(before.Pointers, StringComparer.Ordinal)
            {
                [stratum] = new ListRows.Pointer(before.PointerFor(stratum).Next + 1, pointer),
            };
        }

        return before with
        {
            Head = new AuditTrail.Head(record.Sequence, record.Hash, head),
            SubjectNumbers = before.SubjectNumbers with { Next = before.SubjectNumbers.Next + 1, ETag = counter },
            Pointers = pointers,
        };
    }

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
        StudyContext context, string subjectId, RandomizationRequest request, RandomizationState state, IReadOnlyList<KitRows.ShelfEntry>? shelf, TimeProvider time, IRandomSource random, CancellationToken ct)
    {
        var config = context.Study.Configuration;
        var studyId = config.StudyId;
        var decision = await DecideAsync(context, subjectId, request, state, shelf, time, random, ct);
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
        StudyContext context, string subjectId, RandomizationRequest request, RandomizationState state, IReadOnlyList<KitRows.ShelfEntry>? shelf, TimeProvider time, IRandomSource random, CancellationToken ct)
    {
        var config = context.Study.Configuration;
        var check = SubjectRules.CheckRandomization(config, subjectId, request, existing: null);
        if (!check.IsSuccess)
        {
            return check.Error!;
        }

        // A hold is sticky: whatever the shelf holds now, nothing happens at the site until a shipment is released.
        if (config.IsBlinded && state.Holds.ContainsKey(request.SiteId!))
        {
            return SupplyHold.Refusal(request.SiteId!);
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
        var slotRead = list is not null && pointer is not null && pointer.Next <= list.SlotCounts.GetValueOrDefault(stratum!.Key)
            ? ListRows.GetSlotAsync(context.Table, config.StudyId, stratum.Key, pointer.Next, ct)
            : Task.FromResult<ListRows.StoredSlot?>(null);
        var shelfRead = shelf is null ? KitRows.ShelfAsync(context.Table, config.StudyId, site.SiteId, ct) : Task.FromResult(shelf);
        var slot = await slotRead;
        shelf = await shelfRead;
        if (slot is { SubjectId: not null } && slot.ListId == list!.ListId)
        {
            // Read between another randomization's pointer move and ours: decide again from fresh reads.
            throw new ConcurrentChangeException($"Slot {pointer!.Next} of {stratum!.Key} was taken meanwhile.");
        }

        var usable = slot is not null && slot.ListId == list!.ListId ? slot : null;
        var shelves = Usable(config, site, [.. config.KitTypes.Select(k => k.Code)], shelf, now);
        var assignment = RandomizationDecision.Decide(
            config, subjectId, request, stratum, list is not null, usable?.Slot,
            shelves.ByType.ToDictionary(t => t.Key, t => (IReadOnlyList<string>)[.. t.Value.Select(e => e.KitNumber)], StringComparer.Ordinal),
            state.SubjectNumbers.Next, now, context.Caller.UserId, random);
        return assignment.IsSuccess ? (assignment.Value, stratum?.Key, usable, shelves) : assignment.Error!;
    }

    /// <summary>
    /// Takes the visit's kits of <paramref name="kitType"/> from the site's shelf: at random among the kits that last
    /// to the next visit plus the do-not-dispense days (<see cref="KitChoice"/>). In a blinded study a site on supply
    /// hold, or one where any type is short, is refused whatever the arm.
    /// </summary>
    internal static async Task<Result<IReadOnlyList<string>>> TakeKits(
        StudyContext context, Site site, string kitType, string visit, string subjectId, DateTimeOffset now, IRandomSource random, StudyChange actions, CancellationToken ct)
    {
        var config = context.Study.Configuration;
        var types = config.IsBlinded ? config.KitTypes.Select(k => k.Code).ToList() : [kitType];
        var hold = config.IsBlinded ? SupplyHoldRows.GetAsync(context.Table, config.StudyId, site.SiteId, ct) : Task.FromResult<SupplyHoldRows.Hold?>(null);
        var shelf = KitRows.ShelfAsync(context.Table, config.StudyId, site.SiteId, ct);
        if (await hold is not null)
        {
            return SupplyHold.Refusal(site.SiteId);
        }

        var read = Usable(config, site, types, await shelf, now);
        if (SupplyHold.IsShort(config, read.ByType.ToDictionary(t => t.Key, t => t.Value.Count), kitType))
        {
            return SupplyHold.ShortRefusal(config, site.SiteId);
        }

        var entries = KitChoice.Pick(read.ByType[kitType], config.VisitSchedule.KitsPerVisit, random);
        foreach (var entry in entries)
        {
            actions.AddRange(KitRows.Dispense(config.StudyId, entry, subjectId, visit));
        }

        return entries.Select(e => e.KitNumber).ToList();
    }

    /// <summary>Per kit type, every kit on the site's shelf usable for a visit today.</summary>
    private sealed record Shelves(IReadOnlyDictionary<string, IReadOnlyList<KitRows.IndexEntry>> ByType);

    private static Shelves Usable(StudyConfiguration config, Site site, IReadOnlyList<string> types, IReadOnlyList<KitRows.ShelfEntry> shelf, DateTimeOffset now)
    {
        var earliest = Dispensability.EarliestAllowedExpiry(DateOnly.FromDateTime(now.UtcDateTime), config.VisitSchedule, site.Supply);
        return new Shelves(types.ToDictionary(
            t => t,
            t => (IReadOnlyList<KitRows.IndexEntry>)[.. shelf.Where(k => k.KitType == t && k.Entry.Expiry >= earliest).Select(k => k.Entry)],
            StringComparer.Ordinal));
    }
}

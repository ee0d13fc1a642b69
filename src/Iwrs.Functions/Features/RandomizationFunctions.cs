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

        // The state rows need no authorization to be read, only to be used: read them beside the caller's access and
        // the study (one round). Another writer of this study in this instance makes them stale; then they are read again.
        var services = req.HttpContext.RequestServices;
        var writes = services.GetRequiredService<StudyWrites>();
        var version = writes.Version(studyId);
        var prefetch = Identifiers.IsValid(studyId) ? PrefetchAsync(services.GetRequiredService<IwrsTable>(), studyId, ct) : null;
        var (context, refusal) = await StudyContext.ResolveAsync(studyId, StudyAction.Randomize, read.Value.SiteId, req.HttpContext, ct);
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
    /// <paramref name="prefetch"/> holds state rows read beside the authorization, still current if this instance's
    /// write count for the study is <paramref name="version"/>.
    /// </summary>
    public static async Task<Result<(Subject Subject, bool Created)>> RandomizeAsync(
        StudyContext context, string subjectId, RandomizationRequest request, Task<RandomizationState>? prefetch, long version,
        TimeProvider time, IRandomSource random, SupplyHolds holds, CancellationToken ct)
    {
        var studyId = context.StudyId;
        var writes = context.Writes;
        var created = false;
        var result = await writes.RunAsync(studyId, async attemptCt =>
        {
            var fresh = prefetch is not null && writes.Version(studyId) == version;
            var state = fresh ? await prefetch! : await RandomizationState.ReadAsync(context.Table, studyId, attemptCt);
            prefetch = null;
            var decision = await AssignAsync(context, subjectId, request, state, time, random, attemptCt);
            if (!decision.IsSuccess || decision.Value.Actions is null)
            {
                return decision.IsSuccess ? Result<Subject>.Ok(decision.Value.Subject) : Result<Subject>.Fail(decision.Error!);
            }

            var subject = decision.Value.Subject;
            var config = context.Study.Configuration;
            try
            {
                await AuditTrail.SubmitAsync(context.Table, studyId, decision.Value.Actions, subject.RandomizedAt, new AuditEntry(
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
                    ]), attemptCt, head: state.Head);
            }
            catch (TableTransactionFailedException e) when (e.Status == 409 && e.FailedTransactionActionIndex == 0)
            {
                // The subject row exists: randomized already (a repeat, or a twin that won), so nothing of ours was used.
                return await ExistingAsync(context, subjectId, request, attemptCt)
                    ?? throw new ConcurrentChangeException($"Subject {subjectId} was there and is gone.");
            }

            created = true;
            return Result<Subject>.Ok(subject);
        }, ct);

        if (!result.IsSuccess)
        {
            if (result.Error!.Code == SupplyHold.Code)
            {
                await holds.EnterAsync(context, context.Study.Configuration.FindSite(request.SiteId!)!, "randomization", ct);
            }

            return result.Error!;
        }

        return (result.Value, created);
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
        StudyContext context, string subjectId, RandomizationRequest request, RandomizationState state, TimeProvider time, IRandomSource random, CancellationToken ct)
    {
        var config = context.Study.Configuration;
        var studyId = config.StudyId;
        var decision = await DecideAsync(context, subjectId, request, state, time, random, ct);
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
        StudyContext context, string subjectId, RandomizationRequest request, RandomizationState state, TimeProvider time, IRandomSource random, CancellationToken ct)
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
        var shelves = ReadShelvesAsync(context, site, types, now, ct);
        if (await hold is not null)
        {
            return SupplyHold.Refusal(site.SiteId);
        }

        var read = await shelves;
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

    /// <summary>Per kit type, every kit on the site's shelf usable for a visit today: one range read each.</summary>
    private sealed record Shelves(IReadOnlyDictionary<string, IReadOnlyList<KitRows.IndexEntry>> ByType);

    private static async Task<Shelves> ReadShelvesAsync(StudyContext context, Site site, IReadOnlyList<string> types, DateTimeOffset now, CancellationToken ct)
    {
        var config = context.Study.Configuration;
        var earliest = Dispensability.EarliestAllowedExpiry(DateOnly.FromDateTime(now.UtcDateTime), config.VisitSchedule, site.Supply);
        var shelves = await Task.WhenAll(types.Select(t => KitRows.UsableAsync(context.Table, config.StudyId, $"{KitRows.AvailablePrefix}{site.SiteId}|{t}|", earliest, ct)));
        return new Shelves(types.Select((t, i) => (t, shelves[i])).ToDictionary(x => x.t, x => x.Item2, StringComparer.Ordinal));
    }
}

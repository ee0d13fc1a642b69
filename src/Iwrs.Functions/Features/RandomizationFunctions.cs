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
            ? ReadAsync(await services.GetRequiredService<IwrsTable>().GetAsync(ct), studyId, read.Value, views.Peek(studyId, version), studies, ct)
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
    /// write count for the study is <paramref name="version"/>. Randomizations of one study waiting in this instance
    /// for the study's turn commit together (<see cref="RandomizationQueue"/>): whoever gets the turn decides them in
    /// arrival order, each seeing the ones before it, exactly as if they had taken turns.
    /// </summary>
    internal static async Task<Result<(Subject Subject, bool Created)>> RandomizeAsync(
        StudyContext context, string subjectId, RandomizationRequest request, Task<Basis>? prefetch, long version,
        TimeProvider time, IRandomSource random, SupplyHolds holds, CancellationToken ct, bool again = false)
    {
        var job = new RandomizationQueue.Job(context, subjectId, request, prefetch, version);
        context.Randomizations.Add(job);

        // Wait for the study's turn, or for another request's turn to have committed this one: then the answer is
        // there, and waiting on behind other writers of the study would only delay it.
        using var answered = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var turn = context.Writes.InTurnAsync(context.StudyId, () => CommitWaitingAsync(context, job, time, random), answered.Token);
        if (await Task.WhenAny(turn, job.Done.Task) != turn)
        {
            answered.Cancel();
            _ = turn.ContinueWith(static t => t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);
        }
        else
        {
            Result<bool> taken;
            try
            {
                taken = await turn;
            }
            catch (OperationCanceledException)
            {
                // Still waiting: nobody commits it now. Already taken by another request's turn: that turn finishes it.
                job.TryAbandon();
                throw;
            }

            if (!taken.IsSuccess && job.TryAbandon())
            {
                return taken.Error!;
            }
        }

        var (result, created, decided) = await job.Done.Task;
        if (!result.IsSuccess)
        {
            if (result.Error!.Code == SupplyHold.Code && decided.Study.Configuration.FindSite(request.SiteId!) is { } site
                && !await holds.EnterAsync(decided, site, "randomization", ct) && !again)
            {
                // Subject packs: a starter released since the refusal can serve, so there is no hold: once more,
                // from fresh reads (whether it can serve is public: what is left of each starter).
                return await RandomizeAsync(decided, subjectId, request, null, context.Writes.Version(context.StudyId), time, random, holds, ct, again: true);
            }

            return result.Error!;
        }

        return (result.Value, created);
    }

    /// <summary>
    /// How many waiting randomizations one turn takes at a time; what fits in one transaction of
    /// <see cref="StudyChange.MaxActions"/> commits together, the rest in the next.
    /// </summary>
    private const int MaxTaken = 16;

    /// <summary>
    /// In the study's turn: commits the waiting randomizations, oldest first, until <paramref name="own"/> has an
    /// outcome and none taken is left without one. The writes are not cancelled by this request's token: they carry
    /// other requests' randomizations too.
    /// </summary>
    private static async Task<Result<bool>> CommitWaitingAsync(StudyContext context, RandomizationQueue.Job own, TimeProvider time, IRandomSource random)
    {
        var taken = new List<RandomizationQueue.Job>();
        while (!own.Done.Task.IsCompleted || taken.Count > 0)
        {
            // New arrivals join only while this request's own randomization waits; after that the turn finishes what it
            // took (each round decides at least its first) and ends, so no turn is held for ever by a stream of requests.
            if (!own.Done.Task.IsCompleted)
            {
                taken.AddRange(context.Randomizations.Claim(context.StudyId, MaxTaken - taken.Count));
            }

            if (taken.Count == 0)
            {
                break;
            }

            try
            {
                taken = await CommitAsync(context, taken, time, random);
            }
            catch (Exception e)
            {
                // Whatever failed under them (storage, most likely) fails each of these requests as it would have
                // failed alone; none is left waiting, and the turn goes on with the rest.
                foreach (var job in taken)
                {
                    job.Done.TrySetException(e);
                }

                taken = [];
            }
        }

        return true;
    }

    /// <summary>
    /// One transaction for as many of <paramref name="jobs"/> as fit, decided from one read of the state (or this
    /// instance's view of it); gives each decided one its outcome and returns the ones left for the next.
    /// </summary>
    private static async Task<List<RandomizationQueue.Job>> CommitAsync(StudyContext context, List<RandomizationQueue.Job> jobs, TimeProvider time, IRandomSource random)
    {
        var (studyId, writes, views, table) = (context.StudyId, context.Writes, context.Views, context.Table);
        Plan? plan = null;
        var written = await writes.WriteAsync(studyId, async ct =>
        {
            plan = null;
            if (jobs.Count == 0)
            {
                return Result<bool>.Ok(true);
            }

            // The newest read made beside a request's authorization, if still current; the view is taken either way, so
            // an attempt that loses a race never decides from it again.
            var current = writes.Version(studyId);
            var view = views.Take(studyId, current);
            var prefetched = jobs.LastOrDefault(j => j.Prefetch is not null && j.Version == current)?.Prefetch;
            jobs.ForEach(j => j.Prefetch = null);
            var basis = prefetched is not null
                ? await prefetched
                : await ReadAsync(table, studyId, jobs[0].Request, view, context.Studies, ct);
            // A view is only good for decisions that commit: refuse or answer only from fresh rows. So is another
            // request's early read, made before this one arrived. A plan from either looks up no refused subject.
            var provisional = basis.FromView || (prefetched is not null && jobs.Count > 1);
            plan = await PlanAsync(table, jobs, basis, time, random, lookUpRefused: !provisional, ct);
            if (provisional && !plan.CommitsAll)
            {
                basis = await ReadAsync(table, studyId, jobs[0].Request, view: null, context.Studies, ct);
                plan = await PlanAsync(table, jobs, basis, time, random, lookUpRefused: true, ct);
            }

            if (plan.Entries.Count == 0)
            {
                return Result<bool>.Ok(true);
            }

            try
            {
                var (records, tags) = await AuditTrail.SubmitAllTaggedAsync(table, studyId, plan.Actions, plan.Entries, basis.State.Head, ct);
                if (plan.After(records[^1], tags) is { } after)
                {
                    // Current once this write ends (StudyWrites counts it then).
                    views.Keep(studyId, current + 1, after);
                }
            }
            catch (TableTransactionFailedException e) when (e.Status == 409 && plan.InsertedBy(e.FailedTransactionActionIndex) is { } twin)
            {
                // That subject's row exists: randomized already (a repeat, or a twin that won), so nothing of ours was
                // used. It gets the first allocation; the others are decided again without it.
                var existing = await ExistingAsync(twin.Context, twin.Job.SubjectId, twin.Job.Request, ct)
                    ?? throw new ConcurrentChangeException($"Subject {twin.Job.SubjectId} was there and is gone.");
                twin.Job.Done.TrySetResult(new RandomizationQueue.Outcome(existing, false, twin.Context));
                jobs.Remove(twin.Job);
                throw new ConcurrentChangeException($"Subject {twin.Job.SubjectId} was randomized meanwhile.");
            }

            return Result<bool>.Ok(true);
        }, CancellationToken.None);

        if (!written.IsSuccess)
        {
            foreach (var job in jobs)
            {
                job.Done.TrySetResult(new RandomizationQueue.Outcome(written.Error!, false, job.Context));
            }

            return [];
        }

        if (plan is null)
        {
            return [];
        }

        foreach (var (job, outcome) in plan.Outcomes)
        {
            job.Done.TrySetResult(outcome);
        }

        return plan.Left;
    }

    /// <summary>
    /// What a randomization decides from: the state (read, or this instance's view of it) and, with a view, the shelves
    /// and read-ahead slots it knows (the view's own, and the request's site's shelf and stratum's slots read beside the
    /// authorization when the view lacked them). A shelf or slot must be read after the head that guards the write:
    /// with a view the head is this instance's own last commit, read before anything; with fresh state rows they are
    /// read after them, in the plan's round.
    /// </summary>
    internal sealed record Basis(RandomizationState State, bool FromView);

    /// <summary>How many slots of a stratum one read brings: the next randomizations in it need not read their own.</summary>
    private const int SlotsReadAhead = 8;

    /// <summary>
    /// The state range (one read); or this instance's current view of it, with the request's site's shelf and, when the
    /// view's study gives the request a stratum with a slot left, the slots from its pointer on, read together (one
    /// round) unless the view has them already.
    /// </summary>
    private static async Task<Basis> ReadAsync(TableClient table, string studyId, RandomizationRequest request, RandomizationState? view, StudyStore studies, CancellationToken ct)
    {
        var siteId = request.SiteId!;
        if (view is null)
        {
            return new Basis(await RandomizationState.ReadAsync(table, studyId, ct), false);
        }

        var shelf = view.Shelves.ContainsKey(siteId) ? null : KitRows.ShelfAsync(table, studyId, siteId, ct);
        Task<IReadOnlyList<ListRows.StoredSlot>>? slots = null;
        string? stratumKey = null;
        if (studies.From(view.StudyRow)?.Configuration is { Allocation: Allocation.Randomized } config && view.List is { } list
            && config.FindSite(siteId) is not null && Strata.For(config, siteId, request.StratificationFactors) is { IsSuccess: true } stratum
            && view.PointerFor(stratum.Value.Key).Next is var next && ListCapacity.UsableSlots(config, list.SlotCounts.GetValueOrDefault(stratum.Value.Key), list.PublicSlotsPerStratum) is var last && next <= last
            && !Knows(view.Slots, stratum.Value.Key, next, 1))
        {
            stratumKey = stratum.Value.Key;
            slots = ListRows.SlotsFromAsync(table, studyId, stratumKey, next, Math.Min(SlotsReadAhead, last - next + 1), ct);
        }

        if (shelf is null && slots is null)
        {
            return new Basis(view, true);
        }

        var shelves = new Dictionary<string, IReadOnlyList<KitRows.ShelfEntry>>(view.Shelves, StringComparer.Ordinal);
        var ahead = new Dictionary<string, IReadOnlyList<ListRows.StoredSlot>>(view.Slots, StringComparer.Ordinal);
        if (shelf is not null)
        {
            shelves[siteId] = await shelf;
        }

        if (slots is not null)
        {
            ahead[stratumKey!] = await slots;
        }

        return new Basis(view with { Shelves = shelves, Slots = ahead }, true);
    }

    /// <summary>Whether <paramref name="slots"/> holds a stratum's slots from position <paramref name="next"/> on, at least <paramref name="count"/> of them.</summary>
    private static bool Knows(IReadOnlyDictionary<string, IReadOnlyList<ListRows.StoredSlot>> slots, string stratumKey, int next, int count) =>
        slots.TryGetValue(stratumKey, out var known) && known.Count >= count && known[0].Slot.Position == next && known[count - 1].Slot.Position == next + count - 1;

    private static async Task<StoredStudy?> StudyOf(Task<Basis> read, StudyStore studies) => studies.From((await read).State.StudyRow);

    /// <summary>The request's context with the study as the state rows show it (the configuration the decision must use).</summary>
    private static StudyContext In(StudyContext context, RandomizationState state) =>
        context.Studies.From(state.StudyRow) is { } study ? context with { Study = study } : context;

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

    /// <summary>One randomization as decided in a plan, with the study its decision saw.</summary>
    private sealed record Decided(RandomizationQueue.Job Job, StudyContext Context);

    /// <summary>
    /// The decisions for a run of waiting randomizations, in arrival order, and the one transaction that carries the
    /// ones that commit: each commit's subject insert, slot and kits and its audit record, then once for all of them the
    /// strata's pointers, the subject-number counter and the chain head.
    /// </summary>
    private sealed class Plan(RandomizationState state)
    {
        private readonly Dictionary<int, Decided> _inserts = [];

        public StudyChange Actions { get; } = [];

        public List<(DateTimeOffset At, AuditEntry Entry)> Entries { get; } = [];

        public List<(RandomizationQueue.Job Job, RandomizationQueue.Outcome Outcome)> Outcomes { get; } = [];

        /// <summary>Taken but not decided here (a second request for a subject already in this run, or no room left).</summary>
        public List<RandomizationQueue.Job> Left { get; } = [];

        public Dictionary<string, int> SlotsUsed { get; } = new(StringComparer.Ordinal);

        /// <summary>The shelves the plan decided from, by site, as read (or known) before it took anything.</summary>
        public Dictionary<string, IReadOnlyList<KitRows.ShelfEntry>> Shelves { get; } = new(StringComparer.Ordinal);

        /// <summary>The slots the plan decided from, by stratum, from the stratum's pointer on.</summary>
        public Dictionary<string, IReadOnlyList<ListRows.StoredSlot>> Slots { get; } = new(StringComparer.Ordinal);

        /// <summary>The kits the plan's commits take.</summary>
        public HashSet<string> TakenKits { get; } = new(StringComparer.Ordinal);

        /// <summary>Whether every decided randomization commits (none is refused or answered from what is there).</summary>
        public bool CommitsAll => Outcomes.TrueForAll(o => o.Outcome.Created);

        public void Commit(Decided decided, Subject subject, IReadOnlyList<TableTransactionAction> rows)
        {
            _inserts[Actions.Count] = decided;
            Actions.AddRange(rows);
            var config = decided.Context.Study.Configuration;
            Entries.Add((subject.RandomizedAt, new AuditEntry(
                decided.Job.Context.Caller.UserId, decided.Job.Context.ActingAs.Name(), decided.Job.Context.Channel,
                config.Allocation == Allocation.Randomized ? "subject.randomized" : "subject.enrolled", $"subject:{subject.SubjectId}",
                [
                    new AuditChange("siteId", null, subject.SiteId),
                    new AuditChange("number", null, subject.Number),
                    new AuditChange("kitNumbers", null, string.Join(",", subject.Dispensations.Select(d => d.KitNumber))),
                    new AuditChange("stratum", null, subject.StratumKey),
                    new AuditChange("listPosition", null, subject.ListPosition?.ToString(CultureInfo.InvariantCulture), Unblinded: true),
                    new AuditChange("arm", null, subject.ArmCode, Unblinded: config.IsBlinded),
                    new AuditChange("kitType", null, subject.KitType, Unblinded: config.IsBlinded),
                ])));
            if (subject.StratumKey is { } stratum)
            {
                SlotsUsed[stratum] = SlotsUsed.GetValueOrDefault(stratum) + 1;
            }

            Outcomes.Add((decided.Job, new RandomizationQueue.Outcome(subject, true, decided.Context)));
        }

        /// <summary>The actions one more commit would bring the transaction to, shared rows included.</summary>
        public int CountWith(int rows, string? stratum) =>
            Actions.Count + rows + Entries.Count + 1
            + SlotsUsed.Count + (stratum is not null && !SlotsUsed.ContainsKey(stratum) ? 1 : 0)
            + 2;

        /// <summary>Adds the rows every commit shares: the strata's pointers and the subject-number counter (the head comes with the records).</summary>
        public void Close(string studyId)
        {
            if (Entries.Count == 0)
            {
                return;
            }

            foreach (var (stratum, used) in SlotsUsed)
            {
                Actions.Add(ListRows.AdvancePointer(studyId, stratum, state.PointerFor(stratum), used));
            }

            Actions.Add(state.SubjectNumbers.Advance(studyId, Entries.Count));
        }

        /// <summary>The randomization whose subject insert is the transaction's action <paramref name="index"/>.</summary>
        public Decided? InsertedBy(int? index) => index is { } i && _inserts.TryGetValue(i, out var decided) ? decided : null;

        /// <summary>
        /// The state after the commit, from what it wrote and the ETags it got back: the head, the subject-number
        /// counter and the strata's pointers moved, nothing else in the state range did. Null when the ETags are unknown
        /// (a commit recognised after a lost answer).
        /// </summary>
        public RandomizationState? After(AuditRecord last, IReadOnlyDictionary<string, string>? tags)
        {
            if (tags is null || !tags.TryGetValue(AuditTrail.HeadRowKey, out var head) || !tags.TryGetValue(SubjectRows.CounterKey, out var counter))
            {
                return null;
            }

            var pointers = new Dictionary<string, ListRows.Pointer>(state.Pointers, StringComparer.Ordinal);
            foreach (var (stratum, used) in SlotsUsed)
            {
                if (!tags.TryGetValue(ListRows.PointerKey(stratum), out var pointer))
                {
                    return null;
                }

                pointers[stratum] = new ListRows.Pointer(state.PointerFor(stratum).Next + used, pointer);
            }

            // The shelves and slots known to the plan, as its commit left them: the kits it took off, the slots it used
            // gone. Nothing else in them changed (the commit held the head), and their rows' ETags are as read.
            var shelves = new Dictionary<string, IReadOnlyList<KitRows.ShelfEntry>>(state.Shelves, StringComparer.Ordinal);
            foreach (var (site, shelf) in Shelves)
            {
                shelves[site] = [.. shelf.Where(k => !TakenKits.Contains(k.Entry.KitNumber))];
            }

            var slots = new Dictionary<string, IReadOnlyList<ListRows.StoredSlot>>(state.Slots, StringComparer.Ordinal);
            foreach (var (stratum, ahead) in Slots)
            {
                var next = pointers.GetValueOrDefault(stratum)?.Next ?? state.PointerFor(stratum).Next;
                slots[stratum] = [.. ahead.Where(s => s.Slot.Position >= next)];
            }

            return state with
            {
                Head = new AuditTrail.Head(last.Sequence, last.Hash, head),
                SubjectNumbers = state.SubjectNumbers with { Next = state.SubjectNumbers.Next + Entries.Count, ETag = counter },
                Pointers = pointers,
                Shelves = shelves,
                Slots = slots,
            };
        }
    }

    /// <summary>
    /// Decides a run of randomizations from the state rows and one more round of reads — for every stratum the slots
    /// under its pointer the run may take, and every site's shelf, together — in arrival order, each one seeing the
    /// slots, kits and numbers the ones before it took. The subject's row is not read first: inserting it is what makes
    /// randomization happen once, and a refusal or a failed insert looks it up then.
    /// </summary>
    private static async Task<Plan> PlanAsync(TableClient table, List<RandomizationQueue.Job> jobs, Basis basis, TimeProvider time, IRandomSource random, bool lookUpRefused, CancellationToken ct)
    {
        var state = basis.State;
        var plan = new Plan(state);
        var subjects = new HashSet<string>(StringComparer.Ordinal);
        var checks = new List<(Decided Decided, Result<Stratum?> Check)>();
        foreach (var job in jobs)
        {
            if (!subjects.Add(job.SubjectId))
            {
                plan.Left.Add(job);
                continue;
            }

            var decided = new Decided(job, In(job.Context, state));
            checks.Add((decided, Check(decided.Context.Study.Configuration, job.SubjectId, job.Request, state)));
        }

        // The second round: the slots each stratum's next randomizations would use, and the sites' shelves.
        var studyId = jobs[0].Context.StudyId;
        var list = state.List;
        var slotReads = new Dictionary<string, Task<IReadOnlyList<ListRows.StoredSlot>>>(StringComparer.Ordinal);
        foreach (var group in checks.Where(c => c.Check.IsSuccess && c.Check.Value is not null).GroupBy(c => c.Check.Value!.Key, StringComparer.Ordinal))
        {
            var next = state.PointerFor(group.Key).Next;
            // Never read past the stratum's usable slots: in a blinded study its public number, not its block-rounded length.
            var last = list is null ? 0 : ListCapacity.UsableSlots(group.First().Decided.Context.Study.Configuration, list.SlotCounts.GetValueOrDefault(group.Key), list.PublicSlotsPerStratum);
            var needed = Math.Max(0, Math.Min(group.Count(), last - next + 1));
            slotReads[group.Key] = needed == 0 ? Task.FromResult<IReadOnlyList<ListRows.StoredSlot>>([])
                : Knows(state.Slots, group.Key, next, needed) ? Task.FromResult(state.Slots[group.Key])
                : ListRows.SlotsFromAsync(table, studyId, group.Key, next, Math.Min(Math.Max(needed, SlotsReadAhead), last - next + 1), ct);
        }

        var shelfReads = checks.Where(c => c.Check.IsSuccess).Select(c => c.Decided.Job.Request.SiteId!).Distinct(StringComparer.Ordinal).ToDictionary(
            s => s,
            s => state.Shelves.TryGetValue(s, out var known) ? Task.FromResult(known) : KitRows.ShelfAsync(table, studyId, s, ct),
            StringComparer.Ordinal);
        await Task.WhenAll(slotReads.Values.Cast<Task>().Concat(shelfReads.Values));
        foreach (var (site, read) in shelfReads)
        {
            plan.Shelves[site] = await read;
        }

        foreach (var (stratum, read) in slotReads)
        {
            plan.Slots[stratum] = await read;
        }

        var refused = new List<(Decided Decided, DomainError Error)>();
        var full = false;
        foreach (var (decided, check) in checks)
        {
            var job = decided.Job;
            if (full)
            {
                plan.Left.Add(job);
                continue;
            }

            if (!check.IsSuccess)
            {
                refused.Add((decided, check.Error!));
                continue;
            }

            var config = decided.Context.Study.Configuration;
            var stratum = check.Value;
            ListRows.StoredSlot? slot = null;
            if (stratum is not null && plan.SlotsUsed.GetValueOrDefault(stratum.Key) is var used
                && plan.Slots[stratum.Key].FirstOrDefault(s => s.Slot.Position == state.PointerFor(stratum.Key).Next + used) is { } ahead)
            {
                slot = ahead;
                if (slot is { SubjectId: not null } && slot.ListId == list!.ListId)
                {
                    // Read between another randomization's pointer move and ours: decide again from fresh reads.
                    throw new ConcurrentChangeException($"Slot {slot.Slot.Position} of {stratum.Key} was taken meanwhile.");
                }

                slot = slot is not null && slot.ListId == list!.ListId ? slot : null;
            }

            var now = time.GetUtcNow();
            var site = config.FindSite(job.Request.SiteId!)!;
            var shelf = plan.Shelves[job.Request.SiteId!].Where(k => !plan.TakenKits.Contains(k.Entry.KitNumber)).ToList();
            var shelves = Usable(config, site, [.. config.KitTypes.Select(k => k.Code)], OpenStarter(config, site, shelf, now), now);
            var assignment = RandomizationDecision.Decide(
                config, job.SubjectId, job.Request, stratum, list is not null, slot?.Slot,
                shelves.ByType.ToDictionary(t => t.Key, t => (IReadOnlyList<string>)[.. t.Value.Select(e => e.KitNumber)], StringComparer.Ordinal),
                state.SubjectNumbers.Next + plan.Entries.Count, now, job.Context.Caller.UserId, random, list?.PublicSlotsPerStratum);
            if (!assignment.IsSuccess)
            {
                refused.Add((decided, assignment.Error!));
                continue;
            }

            var subject = assignment.Value.Subject;
            var rows = new List<TableTransactionAction> { SubjectRows.Insert(studyId, subject) };
            if (slot is not null)
            {
                rows.Add(ListRows.UseSlot(studyId, slot, job.SubjectId));
            }

            var visit = subject.Dispensations[0].Visit;
            foreach (var entry in shelves.ByType[subject.KitType].Where(e => assignment.Value.KitNumbers.Contains(e.KitNumber)))
            {
                rows.AddRange(KitRows.Dispense(studyId, entry, job.SubjectId, visit));
            }

            // Subject packs: the subject's pack for their next visit is owed from now on (the timer ships it on its last day).
            if (config.SubjectPacks is { } packs
                && SubjectPacks.OrderAfterVisit(1, 0, DateOnly.FromDateTime(now.UtcDateTime), config.VisitSchedule, site.Supply, packs) is { } order)
            {
                rows.Add(PackRows.Write(studyId, new PackRows.Ledger(site.SiteId, job.SubjectId, subject.KitType, order.Kits, 0, order.ShipBy, order.Earliest)));
            }

            if (plan.Entries.Count > 0 && plan.CountWith(rows.Count, subject.StratumKey) > StudyChange.MaxActions)
            {
                // No room in this transaction: it and every later one are decided in the next, after these commit.
                full = true;
                plan.Left.Add(job);
                continue;
            }

            plan.Commit(decided, subject, rows);
            plan.TakenKits.UnionWith(assignment.Value.KitNumbers);
        }

        // A refusal, unless the subject is already randomized: then its allocation is the answer (not looked up for a
        // plan that is decided again from fresh rows whenever it refuses anything).
        foreach (var (decided, error) in refused)
        {
            var existing = lookUpRefused ? await ExistingAsync(decided.Context, decided.Job.SubjectId, decided.Job.Request, ct) : null;
            plan.Outcomes.Add((decided.Job, new RandomizationQueue.Outcome(existing ?? Result<Subject>.Fail(error), false, decided.Context)));
        }

        plan.Close(studyId);
        return plan;
    }

    /// <summary>What a randomization can be refused for before any slot or kit is read, or the stratum it draws from.</summary>
    private static Result<Stratum?> Check(StudyConfiguration config, string subjectId, RandomizationRequest request, RandomizationState state)
    {
        var check = SubjectRules.CheckRandomization(config, subjectId, request, existing: null);
        if (!check.IsSuccess)
        {
            return check.Error!;
        }

        // A hold is sticky: whatever the shelf holds now, nothing happens at the site until a shipment is released.
        if (config.IsBlinded && state.Holds.ContainsKey(request.SiteId!))
        {
            return SupplyHold.Refusal(request.SiteId!, config.SubjectPacks is not null);
        }

        if (config.Allocation != Allocation.Randomized)
        {
            return Result<Stratum?>.Ok(null);
        }

        var found = Strata.For(config, request.SiteId!, request.StratificationFactors);
        return found.IsSuccess ? Result<Stratum?>.Ok(found.Value) : found.Error!;
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
        if (config.SubjectPacks is { } packs)
        {
            return await TakeFromPackAsync(context, site, packs, kitType, visit, subjectId, now, actions, ct);
        }

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

    /// <summary>
    /// Subject packs: a later visit's kits come from the subject's own pack only, never from a starter (they would link
    /// this subject to the next randomization's): the earliest-expiring of them still dispensable. Without them the
    /// visit is refused (<c>pack-not-on-site</c>), whatever the site's shelf holds. Then the pack for the visit after is
    /// owed, if the pack (left, on the way, ordered) is short of it (<see cref="SubjectPacks.OrderAfterVisit"/>).
    /// </summary>
    private static async Task<Result<IReadOnlyList<string>>> TakeFromPackAsync(
        StudyContext context, Site site, SubjectPackSettings packs, string kitType, string visit, string subjectId, DateTimeOffset now, StudyChange actions, CancellationToken ct)
    {
        var config = context.Study.Configuration;
        var ledgerRead = PackRows.GetAsync(context.Table, config.StudyId, site.SiteId, subjectId, ct);
        var today = DateOnly.FromDateTime(now.UtcDateTime);
        var usableFrom = Dispensability.EarliestAllowedExpiry(today, config.VisitSchedule, site.Supply);
        var pack = (await KitRows.PackAsync(context.Table, config.StudyId, site.SiteId, subjectId, ct)).Where(e => e.Expiry >= usableFrom).ToList();
        var ledger = await ledgerRead;
        var kitsPerVisit = config.VisitSchedule.KitsPerVisit;
        if (pack.Count < kitsPerVisit)
        {
            var coming = ledger is null ? string.Empty : ledger.InTransit > 0 ? " It is on its way." : ledger.Ordered > 0 ? " It is ordered." : string.Empty;
            return new DomainError(SubjectPacks.PackNotOnSite, $"Subject '{subjectId}''s kits for visit {visit} come in their own pack, which has not reached site '{site.SiteId}'.{coming} Nothing was used.");
        }

        var taken = pack.Take(kitsPerVisit).ToList();
        foreach (var entry in taken)
        {
            actions.AddRange(KitRows.Dispense(config.StudyId, entry, subjectId, visit));
        }

        var number = SubjectRules.VisitNumber(config.VisitSchedule, visit).Value;
        var have = pack.Count - kitsPerVisit + (ledger?.InTransit ?? 0) + (ledger?.Ordered ?? 0);
        if (SubjectPacks.OrderAfterVisit(number, have, today, config.VisitSchedule, site.Supply, packs) is { } order)
        {
            ledger ??= new PackRows.Ledger(site.SiteId, subjectId, kitType, 0, 0, order.ShipBy, order.Earliest);
            actions.Add(PackRows.Write(config.StudyId, ledger with
            {
                Ordered = ledger.Ordered + order.Kits,
                ShipBy = ledger.Ordered > 0 && ledger.ShipBy < order.ShipBy ? ledger.ShipBy : order.ShipBy,
                Earliest = ledger.Ordered > 0 && ledger.Earliest > order.Earliest ? ledger.Earliest : order.Earliest,
            }));
        }

        return taken.Select(e => e.KitNumber).ToList();
    }

    /// <summary>
    /// Subject packs: the kits a randomization may take, those of the site's open starter only
    /// (<see cref="SubjectPacks.OpenStarter"/>: the oldest with capacity left, from the kits of it on the shelf); none
    /// when no starter can serve (a supply hold). Which starter is open follows from public counts, and it holds a
    /// visit's kits of every type in every secret, so the kit a subject gets from it tells nothing of the other kits.
    /// On a shared shelf, the whole shelf.
    /// </summary>
    private static IReadOnlyList<KitRows.ShelfEntry> OpenStarter(StudyConfiguration config, Site site, IReadOnlyList<KitRows.ShelfEntry> shelf, DateTimeOffset now)
    {
        if (config.SubjectPacks is null)
        {
            return shelf;
        }

        var usableFrom = Dispensability.EarliestAllowedExpiry(DateOnly.FromDateTime(now.UtcDateTime), config.VisitSchedule, site.Supply);
        return SubjectPacks.OpenStarter(Starters.Of(shelf).Select(s => s.Counts), usableFrom, config.VisitSchedule.KitsPerVisit) is { } open
            ? [.. shelf.Where(k => k.Starter?.Id == open.Id)]
            : [];
    }

    /// <summary>Subject packs: whether a starter on <paramref name="shelf"/> can serve a randomization now.</summary>
    internal static bool CanRandomizeFrom(StudyConfiguration config, Site site, IReadOnlyList<KitRows.ShelfEntry> shelf, DateTimeOffset now) =>
        OpenStarter(config, site, shelf, now).Count > 0;

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

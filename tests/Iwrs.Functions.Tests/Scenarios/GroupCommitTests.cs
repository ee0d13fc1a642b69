using System.Net;
using System.Text.Json;
using Iwrs.Domain;
using Iwrs.Functions.Features;
using Iwrs.Functions.Hosting;
using Iwrs.Storage.Stores;
using Microsoft.Extensions.DependencyInjection;

namespace Iwrs.Functions.Tests.Scenarios;

/// <summary>
/// Randomizations of one study waiting in one instance for the study's turn commit together: one transaction for all
/// of them, a record each, and every outcome what it would have been had they taken turns. The turn is held by the test
/// until every request waits, so what waits is known, not a matter of timing.
/// </summary>
public sealed class GroupCommitTests : IAsyncLifetime
{
    private const string Study = "LJ-MCRC";
    private static readonly Dictionary<string, string> StratumA = new() { ["ecog"] = "0", ["liver-mets"] = "yes" };
    private static readonly Dictionary<string, string> StratumB = new() { ["ecog"] = "1", ["liver-mets"] = "no" };

    private readonly RequestCountTests.RequestCounter _counter = new();
    private IwrsFactory _app = null!;
    private TrialDriver _trial = null!;

    public async Task InitializeAsync()
    {
        _app = new IwrsFactory(services: s => s.AddHttpClient(StorageSetup.HttpClientName).AddHttpMessageHandler(() => new RequestCountTests.CountingHandler(_counter)));
        await _app.LoadSeedStudies();
        _trial = new TrialDriver(_app, Study);
        await _app.Grant(Study, "depot", "depot-manager");
        await _app.Grant(Study, "stat", "unblinded-statistician");
        await _app.Grant(Study, "manager", "study-manager");
        foreach (var site in new[] { "CN01", "CN02", "CN03" })
        {
            await _app.Grant(Study, $"pharm-{site}", "pharmacist", site);
            await _app.Grant(Study, $"coord-{site}", "site-coordinator", site);
        }

        // CN01 and CN02 are stocked; CN03 has nothing on its shelf.
        await _trial.ImportKits("depot", ["LJ-CAPS", "PBO-CAPS"], perType: 40);
        await _trial.Stock("depot", "pharm-CN01", "CN01", new Dictionary<string, int> { ["LJ-CAPS"] = 10, ["PBO-CAPS"] = 10 });
        await _trial.Stock("depot", "pharm-CN02", "CN02", new Dictionary<string, int> { ["LJ-CAPS"] = 10, ["PBO-CAPS"] = 10 });
        await _trial.Ok("stat", HttpMethod.Post, "randomization-list/generate", new { slotsPerStratum = 40 });
    }

    public async Task DisposeAsync() => await _app.DisposeAsync();

    [Fact]
    public async Task WaitingRandomizations_CommitInOneTransaction_EachWithItsOwnRecord()
    {
        var requests = Enumerable.Range(1, 8).Select(i => (Subject: $"G{i:D3}", Site: i % 2 == 0 ? "CN02" : "CN01", Stratum: i <= 4 ? StratumA : StratumB)).ToList();
        var answers = await WhileTurnIsHeld(() => [.. requests.Select(r => Randomize(r.Subject, r.Site, r.Stratum))]);

        Assert.All(answers, a => Assert.Equal(HttpStatusCode.Created, a.Status));
        Assert.Equal(1, _counter.Writes);

        // Each took its own number, slot and kit, as one at a time would have.
        var subjects = new List<JsonElement>();
        foreach (var (subject, _, _) in requests)
        {
            subjects.Add(await _trial.Ok("stat", HttpMethod.Get, $"subjects/{subject}"));
        }

        Assert.Equal(Enumerable.Range(1, 8).Select(n => $"R{n:D4}"), subjects.Select(s => s.GetProperty("number").GetString()).Order(StringComparer.Ordinal));
        foreach (var stratum in subjects.GroupBy(s => s.GetProperty("stratum").GetString()))
        {
            Assert.Equal([1, 2, 3, 4], stratum.Select(s => s.GetProperty("listPosition").GetInt32()).Order());
        }

        var kits = subjects.SelectMany(s => s.GetProperty("dispensations").EnumerateArray().Select(d => d.GetProperty("kitNumber").GetString())).ToList();
        Assert.Equal(8, kits.Distinct(StringComparer.Ordinal).Count());
        await AllocationChecks.AssertAsync(_trial, "stat", subjects);

        // A record each, in one chain that verifies.
        var audit = await _trial.Ok("stat", HttpMethod.Get, "audit");
        var randomized = audit.EnumerateArray().Where(r => r.GetProperty("action").GetString() == "subject.randomized").ToList();
        Assert.Equal(requests.Select(r => $"subject:{r.Subject}").Order(StringComparer.Ordinal), randomized.Select(r => r.GetProperty("target").GetString()).Order(StringComparer.Ordinal));
        var verify = await _trial.Ok("manager", HttpMethod.Get, "audit/verify");
        Assert.True(verify.GetProperty("intact").GetBoolean(), verify.GetRawText());

        // The instance's view of the state is the one the group commit left, with the shelves and the slots it read
        // (ahead): the next randomization reads the caller's roles only.
        _counter.Reset();
        var (status, _) = await Randomize("G009", "CN01", StratumA);
        Assert.Equal(HttpStatusCode.Created, status);
        Assert.Equal((2, 1), (_counter.Reads, _counter.Writes));
        var next = await _trial.Ok("stat", HttpMethod.Get, "subjects/G009");
        Assert.Equal("R0009", next.GetProperty("number").GetString());
        Assert.Equal(5, next.GetProperty("listPosition").GetInt32());
    }

    [Fact]
    public async Task WaitingRefusalAndTwin_AreAnsweredAsIfAlone()
    {
        var answers = await WhileTurnIsHeld(() =>
        [
            Randomize("T001", "CN01", StratumA),
            Randomize("T002", "CN03", StratumA), // nothing on CN03's shelf: the whole site goes on hold
            Randomize("T003", "CN01", StratumA),
            Randomize("T003", "CN01", StratumA), // the same request twice: one allocation
            Randomize("T004", "CN02", StratumB),
        ]);

        Assert.Equal(HttpStatusCode.Created, answers[0].Status);
        Assert.Equal(HttpStatusCode.Conflict, answers[1].Status);
        Assert.Equal("supply-hold", answers[1].Body.GetProperty("code").GetString());
        Assert.Equal(HttpStatusCode.Created, answers[4].Status);
        Assert.Equal([HttpStatusCode.OK, HttpStatusCode.Created], new[] { answers[2].Status, answers[3].Status }.Order());
        Assert.Equal(answers[2].Body.GetProperty("number").GetString(), answers[3].Body.GetProperty("number").GetString());
        Assert.Equal(
            answers[2].Body.GetProperty("dispensations")[0].GetProperty("kitNumber").GetString(),
            answers[3].Body.GetProperty("dispensations")[0].GetProperty("kitNumber").GetString());

        // Three subjects, three numbers; the refused one used nothing, and its site's hold was entered.
        var numbers = new[] { answers[0], answers[2], answers[4] }.Select(a => a.Body.GetProperty("number").GetString()).Order(StringComparer.Ordinal);
        Assert.Equal(["R0001", "R0002", "R0003"], numbers);
        await _trial.Fails("coord-CN03", HttpMethod.Get, "subjects/T002", null, HttpStatusCode.NotFound, "subject-not-found");
        var audit = await _trial.Ok("stat", HttpMethod.Get, "audit");
        Assert.Contains(audit.EnumerateArray(), r => r.GetProperty("action").GetString() == "site.supply-hold" && r.GetProperty("target").GetString()!.Contains("CN03", StringComparison.Ordinal));
        var verify = await _trial.Ok("manager", HttpMethod.Get, "audit/verify");
        Assert.True(verify.GetProperty("intact").GetBoolean(), verify.GetRawText());
    }

    [Fact]
    public async Task CommittedByAnotherTurn_IsAnsweredWithoutWaitingForItsOwn()
    {
        // The test holds the turn; A waits for it, then another writer of the study, then B. When the test lets go, A's
        // turn commits A and B together and the other writer gets the turn. B has its answer then: it must not wait
        // for the other writer to finish, which here waits for B's answer itself (so B would wait until its wait for a
        // turn gives up, StudyWrites.MaxWait; the other writer waits half that for B).
        var writes = _app.Services.GetRequiredService<StudyWrites>();
        var queue = _app.Services.GetRequiredService<RandomizationQueue>();
        var (release, held) = await HoldTurn(writes);

        var a = Randomize("A001", "CN01", StratumA);
        await UntilWaiting(queue, 1);

        // A's request asks for the turn in the same step that queues it; this pause only lets that step finish, so
        // that the other writer is behind A (whatever it is, the outcome asserted below does not depend on its length).
        await Task.Delay(100);
        Task<(HttpStatusCode Status, JsonElement Body)>? b = null;
        var bAnsweredInOtherTurn = false;
        var other = writes.InTurnAsync(Study, async () =>
        {
            bAnsweredInOtherTurn = await Task.WhenAny(b!, Task.Delay(StudyWrites.MaxWait / 2)) == b;
            return Result<bool>.Ok(true);
        }, CancellationToken.None);
        b = Randomize("B001", "CN02", StratumB);
        await UntilWaiting(queue, 2);

        _counter.Reset();
        release.SetResult();
        Assert.True((await held).IsSuccess);
        Assert.Equal(HttpStatusCode.Created, (await a).Status);
        Assert.True((await other).IsSuccess);
        Assert.True(bAnsweredInOtherTurn, "B was committed by A's turn, yet its answer waited for the next writer's turn");
        Assert.Equal(HttpStatusCode.Created, (await b).Status);
        Assert.Equal(1, _counter.Writes);
    }

    /// <summary>Takes the study's turn in the instance and keeps it until <c>release</c> is set; <c>held</c> ends then.</summary>
    private static async Task<(TaskCompletionSource Release, Task<Result<bool>> Held)> HoldTurn(StudyWrites writes)
    {
        var entered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var held = writes.InTurnAsync(Study, async () =>
        {
            entered.SetResult();
            await release.Task;
            return Result<bool>.Ok(true);
        }, CancellationToken.None);
        await entered.Task;
        return (release, held);
    }

    private static async Task UntilWaiting(RandomizationQueue queue, int count)
    {
        for (var i = 0; queue.Waiting(Study) < count; i++)
        {
            Assert.True(i < 3000, $"only {queue.Waiting(Study)} of {count} randomizations are waiting");
            await Task.Delay(10);
        }
    }

    private Task<(HttpStatusCode Status, JsonElement Body)> Randomize(string subjectId, string siteId, Dictionary<string, string> stratum) =>
        _trial.Send($"coord-{siteId}", HttpMethod.Post, $"subjects/{subjectId}/randomize", new { siteId, eligibilityConfirmed = true, stratificationFactors = stratum });

    /// <summary>
    /// Holds the study's turn in the instance while the requests start, until every one of them waits for it, then
    /// lets them go and counts only what happens from there.
    /// </summary>
    private async Task<(HttpStatusCode Status, JsonElement Body)[]> WhileTurnIsHeld(Func<List<Task<(HttpStatusCode Status, JsonElement Body)>>> start)
    {
        var writes = _app.Services.GetRequiredService<StudyWrites>();
        var queue = _app.Services.GetRequiredService<RandomizationQueue>();
        var (release, held) = await HoldTurn(writes);

        var requests = start();
        for (var i = 0; queue.Waiting(Study) < requests.Count; i++)
        {
            Assert.True(i < 3000, $"only {queue.Waiting(Study)} of {requests.Count} randomizations are waiting");
            Assert.DoesNotContain(requests, r => r.IsCompleted);
            await Task.Delay(10);
        }

        _counter.Reset();
        release.SetResult();
        Assert.True((await held).IsSuccess);
        return await Task.WhenAll(requests);
    }
}

using System.Net;
using System.Text.Json;
using Iwrs.Functions.Hosting;
using Microsoft.Extensions.DependencyInjection;
using static Iwrs.Functions.Tests.Scenarios.RequestCountTests;

namespace Iwrs.Functions.Tests.Scenarios;

/// <summary>
/// An instance's next randomization decides from the shelf and the slots its own last commit left, without reading
/// them. These tests change both from a second instance on the same table in between: the first instance's decision
/// from what it knew is refused by the audit chain (the head's ETag, the next record's row), it reads again and decides as if it had never known anything.
/// </summary>
public sealed class KnownRowsTests : IAsyncLifetime
{
    private const string Study = "LJ-MCRC";
    private static readonly Dictionary<string, string> StratumA = new() { ["ecog"] = "0", ["liver-mets"] = "yes" };

    private readonly RequestCounter _counter = new();
    private IwrsFactory _first = null!;
    private IwrsFactory _second = null!;
    private TrialDriver _viaFirst = null!;
    private TrialDriver _viaSecond = null!;

    public async Task InitializeAsync()
    {
        _first = new IwrsFactory(services: s => s.AddHttpClient(StorageSetup.HttpClientName).AddHttpMessageHandler(() => new CountingHandler(_counter)));
        _second = new IwrsFactory(tableName: _first.TableName);
        await _first.LoadSeedStudies();
        _viaFirst = new TrialDriver(_first, Study);
        _viaSecond = new TrialDriver(_second, Study);
        await _first.Grant(Study, "depot", "depot-manager");
        await _first.Grant(Study, "stat", "unblinded-statistician");
        await _first.Grant(Study, "manager", "study-manager");
        await _first.Grant(Study, "pharm", "pharmacist", "CN01");
        await _first.Grant(Study, "coord", "site-coordinator", "CN01");
        await _viaFirst.ImportKits("depot", ["LJ-CAPS", "PBO-CAPS"], perType: 40);
    }

    public async Task DisposeAsync()
    {
        await _second.DisposeAsync();
        await _first.DisposeAsync();
    }

    [Fact]
    public async Task SlotsAndKitsKnownToOneInstance_TakenByTheOther_AreReadAgain()
    {
        await _viaFirst.Stock("depot", "pharm", "CN01", new Dictionary<string, int> { ["LJ-CAPS"] = 10, ["PBO-CAPS"] = 10 });
        await _viaFirst.Ok("stat", HttpMethod.Post, "randomization-list/generate", new { slotsPerStratum = 40 });

        // The first instance randomizes twice: the second decides from what the first commit left (no shelf or slot read).
        await Randomize(_viaFirst, "K001");
        var warm = await Counted(() => Randomize(_viaFirst, "K002"));
        Assert.Equal((2, 1), warm);

        // The second instance takes the next slots of the stratum and kits off the shelf the first one knows.
        await Randomize(_viaSecond, "K003");
        await Randomize(_viaSecond, "K004");

        // The first instance's decision from what it knew loses on the head and is decided again from fresh rows:
        // two transactions, the next slot, a kit nobody has.
        var stale = await Counted(() => Randomize(_viaFirst, "K005"));
        Assert.Equal(2, stale.Writes);
        Assert.True(stale.Reads > warm.Reads, $"{stale.Reads} reads: the rows were not read again.");

        // After the fresh commit it knows the rows again.
        Assert.Equal((2, 1), await Counted(() => Randomize(_viaFirst, "K006")));

        var subjects = new List<JsonElement>();
        foreach (var id in new[] { "K001", "K002", "K003", "K004", "K005", "K006" })
        {
            subjects.Add(await _viaFirst.Ok("stat", HttpMethod.Get, $"subjects/{id}"));
        }

        Assert.Equal([1, 2, 3, 4, 5, 6], subjects.Select(s => s.GetProperty("listPosition").GetInt32()));
        Assert.Equal(6, subjects.SelectMany(s => s.GetProperty("dispensations").EnumerateArray().Select(d => d.GetProperty("kitNumber").GetString())).Distinct(StringComparer.Ordinal).Count());
        await AllocationChecks.AssertAsync(_viaFirst, "stat", subjects);
        var verify = await _viaFirst.Ok("manager", HttpMethod.Get, "audit/verify");
        Assert.True(verify.GetProperty("intact").GetBoolean(), verify.GetRawText());
    }

    [Fact]
    public async Task AShelfKnownToOneInstance_EmptiedByTheOther_HoldsTheSiteAsAFreshReadWould()
    {
        // Three kits of each type: the first instance's commit leaves a shelf that it knows still serves either arm.
        await _viaFirst.Stock("depot", "pharm", "CN01", new Dictionary<string, int> { ["LJ-CAPS"] = 3, ["PBO-CAPS"] = 3 });
        await _viaFirst.Ok("stat", HttpMethod.Post, "randomization-list/generate", new { slotsPerStratum = 40 });
        await Randomize(_viaFirst, "H001");

        // The second instance randomizes until a type runs short and the site is held.
        var created = 1;
        HttpStatusCode status;
        string? code;
        do
        {
            (status, var body) = await _viaSecond.Send("coord", HttpMethod.Post, $"subjects/H{created + 1:D3}/randomize", Request());
            code = status == HttpStatusCode.Created ? null : body.GetProperty("code").GetString();
            created += status == HttpStatusCode.Created ? 1 : 0;
        }
        while (status == HttpStatusCode.Created && created < 6);

        Assert.Equal("supply-hold", code);

        // What the first instance knew would still randomize; every kit it knew is gone from the shelf (their index
        // rows' ETags refuse the transaction, as the chain would), and the fresh read holds.
        var (refused, problem) = await _viaFirst.Send("coord", HttpMethod.Post, "subjects/H999/randomize", Request());
        Assert.Equal(HttpStatusCode.Conflict, refused);
        Assert.Equal("supply-hold", problem.GetProperty("code").GetString());
        var (missing, _) = await _viaFirst.Send("stat", HttpMethod.Get, "subjects/H999");
        Assert.Equal(HttpStatusCode.NotFound, missing);
        var randomized = (await _viaFirst.Ok("stat", HttpMethod.Get, "audit")).EnumerateArray().Count(r => r.GetProperty("action").GetString() == "subject.randomized");
        Assert.Equal(created, randomized);
    }

    [Fact]
    public async Task AHoldTheOtherInstanceStarted_IsSeenThoughNoKitTheFirstKnewOfChanged()
    {
        var stocked = await _viaFirst.Stock("depot", "pharm", "CN01", new Dictionary<string, int> { ["LJ-CAPS"] = 10, ["PBO-CAPS"] = 10 });
        await _viaFirst.Ok("stat", HttpMethod.Post, "randomization-list/generate", new { slotsPerStratum = 40 });
        await Randomize(_viaFirst, "R001");
        var dispensed = (await _viaFirst.Ok("stat", HttpMethod.Get, "subjects/R001")).GetProperty("dispensations")[0].GetProperty("kitNumber").GetString();

        // One kit reported missing through the second instance holds the site; only that kit's rows and the state
        // changed, so every other kit the first instance knows, and its slots, are as it read them.
        await _viaSecond.Ok("pharm", HttpMethod.Post, $"sites/CN01/kits/{stocked.First(k => k != dispensed)}/report", new { condition = "missing", reason = "not in the fridge" });

        // Only the audit chain (the head, the next record's row) tells the first instance that what it knows is stale.
        for (var i = 2; i <= 6; i++)
        {
            var (status, problem) = await _viaFirst.Send("coord", HttpMethod.Post, $"subjects/R{i:D3}/randomize", Request());
            Assert.Equal(HttpStatusCode.Conflict, status);
            Assert.Equal("supply-hold", problem.GetProperty("code").GetString());
        }
    }

    [Fact]
    public async Task KitsReceivedThroughTheOtherInstance_AfterTheFirstKnowsTheShelf_AreDispensedByTheFirst()
    {
        // Kits added to the shelf change no row the first instance knows: only the chain tells it the shelf grew.
        await _viaFirst.Stock("depot", "pharm", "CN01", new Dictionary<string, int> { ["LJ-CAPS"] = 2, ["PBO-CAPS"] = 2 });
        await _viaFirst.Ok("stat", HttpMethod.Post, "randomization-list/generate", new { slotsPerStratum = 40 });
        await Randomize(_viaFirst, "S001");
        await _viaSecond.Stock("depot", "pharm", "CN01", new Dictionary<string, int> { ["LJ-CAPS"] = 6, ["PBO-CAPS"] = 6 });

        var kits = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 2; i <= 8; i++)
        {
            await Randomize(_viaFirst, $"S{i:D3}");
            kits.Add((await _viaFirst.Ok("stat", HttpMethod.Get, $"subjects/S{i:D3}")).GetProperty("dispensations")[0].GetProperty("kitNumber").GetString()!);
        }

        Assert.Equal(7, kits.Count);
        var verify = await _viaFirst.Ok("manager", HttpMethod.Get, "audit/verify");
        Assert.True(verify.GetProperty("intact").GetBoolean(), verify.GetRawText());
    }

    [Fact]
    public async Task SlotsReadAheadPastTheListEnd_AreNotThere_TheNextIsRefusedAsExhausted()
    {
        await _viaFirst.Stock("depot", "pharm", "CN01", new Dictionary<string, int> { ["LJ-CAPS"] = 10, ["PBO-CAPS"] = 10 });
        // Up to the stratum's usable slots (the 4 asked for; the list's whole blocks may hold more).
        var list = await _viaFirst.Ok("stat", HttpMethod.Post, "randomization-list/generate", new { slotsPerStratum = 4 });
        var slots = list.GetProperty("usablePerStratum").GetProperty("ecog=0;liver-mets=yes").GetInt32();
        Assert.Equal(4, slots);
        for (var i = 1; i <= slots; i++)
        {
            await Randomize(_viaFirst, $"E{i:D3}");
        }

        var (status, problem) = await _viaFirst.Send("coord", HttpMethod.Post, $"subjects/E{slots + 1:D3}/randomize", Request());
        Assert.Equal(HttpStatusCode.Conflict, status);
        Assert.Equal("list-exhausted", problem.GetProperty("code").GetString());
        var positions = new List<int>();
        for (var i = 1; i <= slots; i++)
        {
            positions.Add((await _viaFirst.Ok("stat", HttpMethod.Get, $"subjects/E{i:D3}")).GetProperty("listPosition").GetInt32());
        }

        Assert.Equal(Enumerable.Range(1, slots), positions);
    }

    private static object Request() => new { siteId = "CN01", eligibilityConfirmed = true, stratificationFactors = StratumA };

    private static async Task Randomize(TrialDriver via, string subjectId) =>
        await via.Ok("coord", HttpMethod.Post, $"subjects/{subjectId}/randomize", Request());

    private async Task<(int Reads, int Writes)> Counted(Func<Task> action)
    {
        _counter.Reset();
        await action();
        return (_counter.Reads, _counter.Writes);
    }
}

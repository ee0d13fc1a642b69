using System.Net;
using System.Text.Json.Nodes;

namespace Iwrs.Functions.Tests.Scenarios;

/// <summary>
/// Every refusal of a randomization consumes nothing: no slot, no kit, no number, no audit record.
/// </summary>
public sealed class RandomizationRefusalTests : IAsyncLifetime
{
    private const string Study = "LJ-MCRC";
    private static readonly Dictionary<string, string> StratumA = new() { ["ecog"] = "1", ["liver-mets"] = "no" };
    private static readonly Dictionary<string, string> StratumB = new() { ["ecog"] = "0", ["liver-mets"] = "yes" };

    private readonly IwrsFactory _app = new();
    private TrialDriver _trial = null!;

    public async Task InitializeAsync()
    {
        await _app.LoadSeedStudies();
        _trial = new TrialDriver(_app, Study);
        await _app.Grant(Study, "depot", "depot-manager");
        await _app.Grant(Study, "stat", "unblinded-statistician");
        await _app.Grant(Study, "manager", "study-manager");
        await _app.Grant(Study, "pharm", "pharmacist", "CN01");
        await _app.Grant(Study, "coord", "site-coordinator", "CN01");
        await _app.Grant(Study, "coord2", "site-coordinator", "CN02");
        await _trial.ImportKits("depot", ["LJ-CAPS", "PBO-CAPS"], perType: 20);
        await _trial.Stock("depot", "pharm", "CN01", new Dictionary<string, int> { ["LJ-CAPS"] = 12, ["PBO-CAPS"] = 12 });
    }

    public async Task DisposeAsync() => await _app.DisposeAsync();

    private Task<(HttpStatusCode, System.Text.Json.JsonElement)> Randomize(string user, string subject, string site, Dictionary<string, string> stratum, bool eligible = true) =>
        _trial.Send(user, HttpMethod.Post, $"subjects/{subject}/randomize", new { siteId = site, eligibilityConfirmed = eligible, stratificationFactors = stratum });

    private async Task<(int Available, int AuditRecords)> State()
    {
        var inventory = await _trial.Ok("pharm", HttpMethod.Get, "sites/CN01/inventory");
        var audit = await _trial.Ok("manager", HttpMethod.Get, "audit");
        return (inventory.GetProperty("available").GetInt32(), audit.GetArrayLength());
    }

    [Fact]
    public async Task Randomize_Refusals_ConsumeNothing()
    {
        // No list yet.
        var before = await State();
        var (status, problem) = await Randomize("coord", "X-001", "CN01", StratumA);
        Assert.Equal((HttpStatusCode.Conflict, "no-active-list"), (status, problem.GetProperty("code").GetString()));

        // A list with the fewest slots the generator makes for stratum A (whole blocks of 4 or 6), of which the blinded
        // study uses the one asked for: where a stratum ends must not tell the block sizes.
        var list = await _trial.Ok("stat", HttpMethod.Post, "randomization-list/generate", new { slotsPerStratum = 1 });
        Assert.InRange(list.GetProperty("slotsPerStratum").GetProperty("ecog=1;liver-mets=no").GetInt32(), 4, 6);
        Assert.Equal(1, list.GetProperty("publicSlotsPerStratum").GetInt32());
        var slotsA = list.GetProperty("usablePerStratum").GetProperty("ecog=1;liver-mets=no").GetInt32();
        Assert.Equal(1, slotsA);
        Assert.Equal(before, await State() with { AuditRecords = before.AuditRecords });

        for (var i = 1; i <= slotsA; i++)
        {
            Assert.Equal(HttpStatusCode.Created, (await Randomize("coord", $"A-{i:D3}", "CN01", StratumA)).Item1);
        }

        var full = await State();
        (status, problem) = await Randomize("coord", "A-LAST", "CN01", StratumA);
        Assert.Equal((HttpStatusCode.Conflict, "list-exhausted"), (status, problem.GetProperty("code").GetString()));
        (status, problem) = await Randomize("coord", "B-NOT", "CN01", StratumB, eligible: false);
        Assert.Equal((HttpStatusCode.UnprocessableEntity, "eligibility-not-confirmed"), (status, problem.GetProperty("code").GetString()));
        (status, problem) = await Randomize("coord", "B-BAD", "CN01", new Dictionary<string, string> { ["ecog"] = "3", ["liver-mets"] = "yes" });
        Assert.Equal((HttpStatusCode.BadRequest, "validation-failed"), (status, problem.GetProperty("code").GetString()));
        Assert.Equal(full, await State());

        // A site with no kits goes on supply hold (audited, an urgent shipment ordered): no slot or number is used.
        (status, problem) = await Randomize("coord2", "B-CN02", "CN02", StratumB);
        Assert.Equal((HttpStatusCode.Conflict, "supply-hold"), (status, problem.GetProperty("code").GetString()));

        // The next randomization that can happen gets the next number: nothing above used one up.
        var next = await _trial.Ok("coord", HttpMethod.Post, "subjects/B-001/randomize", new { siteId = "CN01", eligibilityConfirmed = true, stratificationFactors = StratumB });
        Assert.Equal($"R{slotsA + 1:D4}", next.GetProperty("number").GetString());
        var summary = await _trial.Ok("stat", HttpMethod.Get, "randomization-list");
        Assert.Equal(slotsA, summary.GetProperty("usedPerStratum").GetProperty("ecog=1;liver-mets=no").GetInt32());
        Assert.Equal(1, summary.GetProperty("usedPerStratum").GetProperty("ecog=0;liver-mets=yes").GetInt32());

        // With the list active, the design cannot change any more.
        var redesigned = JsonNode.Parse(IwrsFactory.StudyFile("lj-mcrc.json"))!;
        redesigned["version"] = 2;
        redesigned["randomization"]!["blockSizes"] = new JsonArray(2, 4);
        await _trial.Fails(IwrsFactory.Admin, HttpMethod.Put, $"/api/studies/{Study}", redesigned, HttpStatusCode.Conflict, "randomization-design-locked");

        // Site deactivated, then the study closed (new configuration versions): refused, nothing used.
        var file = JsonNode.Parse(IwrsFactory.StudyFile("lj-mcrc.json"))!;
        file["version"] = 2;
        file["sites"]![0]!["active"] = false;
        await _trial.Ok(IwrsFactory.Admin, HttpMethod.Put, $"/api/studies/{Study}", file);
        var beforeClosed = await State();
        (status, problem) = await Randomize("coord", "B-002", "CN01", StratumB);
        Assert.Equal((HttpStatusCode.Conflict, "site-not-active"), (status, problem.GetProperty("code").GetString()));
        file["version"] = 3;
        file["sites"]![0]!["active"] = true;
        file["status"] = "closed";
        await _trial.Ok(IwrsFactory.Admin, HttpMethod.Put, $"/api/studies/{Study}", file);
        (status, problem) = await Randomize("coord", "B-002", "CN01", StratumB);
        Assert.Equal((HttpStatusCode.Conflict, "study-not-open"), (status, problem.GetProperty("code").GetString()));
        Assert.Equal(beforeClosed.Available, (await State()).Available);
        Assert.Equal(beforeClosed.AuditRecords + 1, (await State()).AuditRecords);
    }
}

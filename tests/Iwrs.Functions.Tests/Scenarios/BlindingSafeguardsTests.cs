using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using Iwrs.Domain.Supply;
using Iwrs.Functions.Features;
using Iwrs.Storage.Stores;
using Microsoft.Extensions.DependencyInjection;

namespace Iwrs.Functions.Tests.Scenarios;

/// <summary>The indirect ways a blind could leak, each closed: hashes, self-granted roles, one-type shipments, expiries, arm-dependent refusals.</summary>
public sealed class BlindingSafeguardsTests : IAsyncLifetime
{
    private const string Study = "LJ-MCRC";
    private static readonly Dictionary<string, string> Stratum = new() { ["ecog"] = "0", ["liver-mets"] = "yes" };

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
        await _trial.ImportKits("depot", ["LJ-CAPS", "PBO-CAPS"], perType: 12);
    }

    public async Task DisposeAsync() => await _app.DisposeAsync();

    [Fact]
    public async Task Audit_BlindedReader_GetsNoHashesThatCouldBeTestedAgainstWithheldValues()
    {
        var blinded = await _trial.Ok("manager", HttpMethod.Get, "audit");
        Assert.All(blinded.EnumerateArray(), r => Assert.False(r.TryGetProperty("hash", out _)));
        var csv = await (await _trial.Client("manager")).GetStringAsync($"/api/studies/{Study}/audit?format=csv");
        Assert.DoesNotMatch("[0-9a-f]{64}", csv);
        var unblinded = await _trial.Ok("stat", HttpMethod.Get, "audit");
        Assert.All(unblinded.EnumerateArray(), r => Assert.Equal(64, r.GetProperty("hash").GetString()!.Length));
    }

    [Theory]
    [InlineData("manager", "depot-manager", null)]
    [InlineData("someone", "unblinding-investigator", "CN01")]
    [InlineData("manager", "site-coordinator", "CN01")]
    public async Task Grant_StudyManagerUnblindingAnyoneOrGrantingThemselves_IsRefused(string user, string role, string? site)
    {
        await _trial.Fails("manager", HttpMethod.Post, "role-assignments", new { userId = user, role, siteId = site }, HttpStatusCode.Forbidden, "not-authorized");
    }

    [Fact]
    public async Task Shipment_OneKitTypeInABlindedStudy_IsRefused()
    {
        var problem = await _trial.Fails("depot", HttpMethod.Post, "shipments", new { siteId = "CN01", kits = new Dictionary<string, int> { ["LJ-CAPS"] = 3 } }, HttpStatusCode.BadRequest, "validation-failed");
        Assert.Contains("every kit type", problem.GetRawText(), StringComparison.Ordinal);
    }

    /// <summary>
    /// Attacker review 12: a list numbered by type (A… probiotic, B… placebo) sent as two lopsided imports into a study
    /// with no kits yet. The second is judged with the kits the study already has, and refused; nothing of it is imported.
    /// </summary>
    [Fact]
    public async Task KitImport_NumberedByTypeInTwoLopsidedParts_SecondRefusedWithTheFirst()
    {
        // A study of its own: with this class's randomly numbered kits, the first part alone would already tell.
        await using var app = new IwrsFactory();
        await app.LoadSeedStudies();
        await app.Grant(Study, "depot", "depot-manager");
        await app.Grant(Study, "stat", "unblinded-statistician");
        var trial = new TrialDriver(app, Study);

        object Kit(string number, string type) => new { kitNumber = number, kitType = type, lot = "L1", expiry = "2028-01-01" };
        var first = Enumerable.Range(0, 38).Select(i => Kit($"A{i:D4}", "LJ-CAPS")).Append(Kit("Z0000", "PBO-CAPS")).ToList();
        var second = Enumerable.Range(0, 38).Select(i => Kit($"B{i:D4}", "PBO-CAPS")).Append(Kit("Y0000", "LJ-CAPS")).ToList();
        Assert.Equal(39, (await trial.Ok("depot", HttpMethod.Post, "kits/import", new { kits = first })).GetProperty("imported").GetInt32());

        var problem = await trial.Fails("depot", HttpMethod.Post, "kits/import", new { kits = second }, HttpStatusCode.BadRequest, "validation-failed");

        Assert.Contains("with the kits already imported", problem.GetRawText(), StringComparison.Ordinal);
        var audit = await trial.Ok("stat", HttpMethod.Get, "audit");
        Assert.Contains("A0000", audit.GetRawText(), StringComparison.Ordinal);
        Assert.DoesNotContain("B0000", audit.GetRawText(), StringComparison.Ordinal);
    }

    /// <summary>
    /// Attacker review 13: a second part that re-lists the first part's kits with the other type used to be judged by the
    /// type it claimed, and its new kits were written chunk by chunk before the first conflict. Now the whole list is
    /// refused (409 kit-conflict) before anything is written.
    /// </summary>
    [Fact]
    public async Task KitImport_PartReListingImportedKitsAsTheOtherType_NothingOfItImported()
    {
        await using var app = new IwrsFactory();
        await app.LoadSeedStudies();
        await app.Grant(Study, "depot", "depot-manager");
        var trial = new TrialDriver(app, Study);
        object Kit(string number, string type, string lot) => new { kitNumber = number, kitType = type, lot, expiry = "2028-01-01" };
        var first = Enumerable.Range(0, 480).Select(i => Kit($"Z{i:D4}", "LJ-CAPS", "L1")).Append(Kit("A0000", "PBO-CAPS", "L1")).ToList();
        Assert.Equal(481, (await trial.Ok("depot", HttpMethod.Post, "kits/import", new { kits = first })).GetProperty("imported").GetInt32());
        var second = Enumerable.Range(0, 480).Select(i => Kit($"B{i:D4}", "PBO-CAPS", "L2")).Append(Kit("C0000", "LJ-CAPS", "L2"))
            .Concat(Enumerable.Range(0, 480).Select(i => Kit($"Z{i:D4}", "PBO-CAPS", "L2"))).ToList();

        var problem = await trial.Fails("depot", HttpMethod.Post, "kits/import", new { kits = second }, HttpStatusCode.Conflict, "kit-conflict");

        Assert.Contains("480 kit(s) already exist", problem.GetProperty("detail").GetString()!, StringComparison.Ordinal);
        var table = await app.Services.GetRequiredService<IwrsTable>().GetAsync(CancellationToken.None);
        Assert.Equal(481, (await KitRows.AllAsync(table, Study, CancellationToken.None)).Count);
    }

    /// <summary>
    /// Attacker review 13: the two lopsided parts of a list numbered by type, sent at the same moment from two app
    /// instances, each passed the check before either was written. Imports now hold a lease, one at a time: one part
    /// lands, the other is refused (409 kit-import-in-progress while the first runs, or 400 once judged with it), and
    /// sent again after the first is refused by the check. Never are both stored.
    /// </summary>
    [Fact]
    public async Task KitImport_TwoLopsidedPartsAtOnceFromTwoInstances_NeverBothImported()
    {
        await using var app = new IwrsFactory();
        await app.LoadSeedStudies();
        await app.Grant(Study, "depot", "depot-manager");
        await using var second = new IwrsFactory(app.TableName);
        var clients = new[] { await app.ClientFor("depot"), await second.ClientFor("depot") };
        object Kit(string number, string type) => new { kitNumber = number, kitType = type, lot = "L1", expiry = "2028-01-01" };
        object[][] parts =
        [
            [.. Enumerable.Range(0, 480).Select(i => Kit($"A{i:D4}", "LJ-CAPS")).Append(Kit("Z0000", "PBO-CAPS"))],
            [.. Enumerable.Range(0, 480).Select(i => Kit($"B{i:D4}", "PBO-CAPS")).Append(Kit("Y0000", "LJ-CAPS"))],
        ];

        var responses = await Task.WhenAll(parts.Select((kits, i) => clients[i].PostAsJsonAsync($"/api/studies/{Study}/kits/import", new { kits })));

        Assert.Contains(HttpStatusCode.OK, responses.Select(r => r.StatusCode));
        var refused = Assert.Single(responses, r => r.StatusCode != HttpStatusCode.OK);
        var code = (await refused.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("code").GetString();
        Assert.Contains(code, new[] { "kit-import-in-progress", "validation-failed" });

        // Whichever was refused, sent again once the other is in, is refused by the check.
        var again = Array.IndexOf(responses, refused);
        using var retry = await clients[again].PostAsJsonAsync($"/api/studies/{Study}/kits/import", new { kits = parts[again] });
        Assert.Equal(HttpStatusCode.BadRequest, retry.StatusCode);
        var table = await app.Services.GetRequiredService<IwrsTable>().GetAsync(CancellationToken.None);
        var stored = await KitRows.AllAsync(table, Study, CancellationToken.None);
        Assert.Equal(481, stored.Count);
        Assert.Null(KitImport.NumberingTellsType([.. stored.Select(k => (k.KitNumber, k.KitType))]));
        Assert.Null(await table.GetRowAsync(Study, KitFunctions.ImportLeaseKey));
    }

    [Fact]
    public async Task KitImport_OneKitTypeInABlindedStudy_IsRefused()
    {
        var kits = Enumerable.Range(0, 5).Select(_ => new { kitNumber = TrialDriver.KitNumber(), kitType = "PBO-CAPS", lot = "L1", expiry = "2028-01-01" });
        await _trial.Fails("depot", HttpMethod.Post, "kits/import", new { kits }, HttpStatusCode.BadRequest, "validation-failed");
    }

    [Fact]
    public async Task Inventory_BlindedPharmacist_SeesNoExpiries()
    {
        await _trial.Stock("depot", "pharm", "CN01", new Dictionary<string, int> { ["LJ-CAPS"] = 2, ["PBO-CAPS"] = 2 });
        var inventory = await _trial.Ok("pharm", HttpMethod.Get, "sites/CN01/inventory");
        Assert.Equal(4, inventory.GetProperty("available").GetInt32());
        Assert.All(inventory.GetProperty("kits").EnumerateArray(), k => Assert.False(k.TryGetProperty("expiry", out _)));
        var depot = await _trial.Ok("depot", HttpMethod.Get, "sites/CN01/inventory");
        Assert.All(depot.GetProperty("kits").EnumerateArray(), k => Assert.True(k.TryGetProperty("expiry", out _)));
    }

    [Fact]
    public async Task Randomize_OneKitTypeShortAtTheSite_RefusesEverySubjectWhateverTheArm()
    {
        // Four probiotic kits arrive fine, the one placebo kit damaged, and the depot releases the shipment: no
        // subject may be randomized, so the refusal says nothing about which subjects would have had which arm.
        var shipment = await _trial.Ok("depot", HttpMethod.Post, "shipments", new { siteId = "CN01", kits = new Dictionary<string, int> { ["LJ-CAPS"] = 4, ["PBO-CAPS"] = 1 } });
        var id = shipment.GetProperty("shipmentId").GetString()!;
        await _trial.Ok("depot", HttpMethod.Post, $"shipments/{id}/dispatch");
        var receipt = shipment.GetProperty("kits").EnumerateArray().Select(k => new
        {
            kitNumber = k.GetProperty("kitNumber").GetString(),
            condition = k.GetProperty("kitType").GetString() == "PBO-CAPS" ? "damaged" : "ok",
        });
        await _trial.Ok("pharm", HttpMethod.Post, $"shipments/{id}/receive", new { kits = receipt });
        await _trial.Ok("depot", HttpMethod.Post, $"shipments/{id}/release");
        // Released, its four kits are set aside until the replacement comes (listed on the shelf, never dispensed).
        Assert.Equal(4, (await _trial.Ok("pharm", HttpMethod.Get, "sites/CN01/inventory")).GetProperty("available").GetInt32());
        await _trial.Ok("stat", HttpMethod.Post, "randomization-list/generate", new { slotsPerStratum = 10 });

        for (var i = 0; i < 4; i++)
        {
            await _trial.Fails("coord", HttpMethod.Post, $"subjects/S{i}/randomize", new { siteId = "CN01", eligibilityConfirmed = true, stratificationFactors = Stratum }, HttpStatusCode.Conflict, "supply-hold");
        }

        Assert.Equal(0, (await _trial.Ok("stat", HttpMethod.Get, "randomization-list")).GetProperty("usedPerStratum").GetProperty("ecog=0;liver-mets=yes").GetInt32());
    }

    [Theory]
    [InlineData("subjects/a%20b/randomize", HttpStatusCode.BadRequest, "validation-failed")]
    [InlineData("shipments/a%23b/dispatch", HttpStatusCode.NotFound, "shipment-not-found")]
    public async Task BadIdentifiersInThePath_Are4xx(string path, HttpStatusCode status, string code)
    {
        var user = path.StartsWith("subjects", StringComparison.Ordinal) ? "coord" : "depot";
        await _trial.Fails(user, HttpMethod.Post, path, new { siteId = "CN01", eligibilityConfirmed = true, stratificationFactors = Stratum }, status, code);
    }

    [Fact]
    public async Task BadBodies_NullElementsAndHugeCounts_Are400()
    {
        await _trial.Fails("depot", HttpMethod.Post, "kits/import", JsonNode.Parse("""{"kits":[null]}"""), HttpStatusCode.BadRequest, "validation-failed");
        await _trial.Fails("depot", HttpMethod.Post, "shipments", new { siteId = "CN01", kits = new Dictionary<string, int> { ["LJ-CAPS"] = int.MaxValue, ["PBO-CAPS"] = int.MaxValue } }, HttpStatusCode.BadRequest, "validation-failed");
        await _trial.Fails("pharm", HttpMethod.Post, "shipments/SH0001/receive", JsonNode.Parse("""{"kits":[null]}"""), HttpStatusCode.BadRequest, "validation-failed");
    }

    [Fact]
    public async Task LoadStudy_RemovingASite_IsRefused()
    {
        var file = JsonNode.Parse(IwrsFactory.StudyFile("lj-mcrc.json"))!;
        file["version"] = 2;
        file["sites"]!.AsArray().RemoveAt(2);
        await _trial.Fails(IwrsFactory.Admin, HttpMethod.Put, $"/api/studies/{Study}", file, HttpStatusCode.Conflict, "study-element-removed");
    }
}

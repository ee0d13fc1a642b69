using System.Net;
using Iwrs.Functions.Features;
using Microsoft.Extensions.DependencyInjection;

namespace Iwrs.Functions.Tests.Scenarios;

/// <summary>
/// The Akkermansia trial end to end over HTTP on Azurite: single-arm, open-label, one centre. Subjects are
/// enrolled (no list), each with an open-label kit; dispensing runs every 21 days; the single centre is
/// resupplied by the timer.
/// </summary>
public sealed class SingleArmStudyScenarioTests : IAsyncLifetime
{
    private const string Study = "AKK-MCRC";
    private readonly IwrsFactory _app = new();
    private TrialDriver _trial = null!;

    public async Task InitializeAsync()
    {
        await _app.LoadSeedStudies();
        _trial = new TrialDriver(_app, Study);
        await _app.Grant(Study, "depot", "depot-manager");
        await _app.Grant(Study, "pharm", "pharmacist", "CN01");
        await _app.Grant(Study, "coord", "site-coordinator", "CN01");
        await _app.Grant(Study, "inv", "unblinding-investigator", "CN01");
        await _app.Grant(Study, "monitor", "medical-monitor");
        await _app.Grant(Study, "manager", "study-manager");
        await _app.Grant(Study, "stat", "unblinded-statistician");
    }

    public async Task DisposeAsync() => await _app.DisposeAsync();

    [Fact]
    public async Task FullScenario_SingleArmStudy_EnrolsDispensesResuppliesAndAudits()
    {
        await _trial.ImportKits("depot", ["AKK-CAPS"], perType: 30);
        await _trial.Stock("depot", "pharm", "CN01", new Dictionary<string, int> { ["AKK-CAPS"] = 5 });

        // No list in a single-arm study.
        await _trial.Fails("stat", HttpMethod.Post, "randomization-list/generate", new { slotsPerStratum = 10 }, HttpStatusCode.Conflict, "randomization-not-applicable");

        var first = await _trial.Ok("coord", HttpMethod.Post, "subjects/AKK-001/randomize", new { siteId = "CN01", eligibilityConfirmed = true });
        Assert.Equal("E0001", first.GetProperty("number").GetString());
        Assert.Equal("AKK", first.GetProperty("arm").GetString());
        var again = await _trial.Ok("coord", HttpMethod.Post, "subjects/AKK-001/randomize", new { siteId = "CN01", eligibilityConfirmed = true });
        Assert.Equal(first.GetRawText(), again.GetRawText());
        await _trial.Ok("coord", HttpMethod.Post, "subjects/AKK-002/randomize", new { siteId = "CN01", eligibilityConfirmed = true });

        // Three-weekly dispensing: C2 and C3 for the first subject, each once.
        await _trial.Ok("coord", HttpMethod.Post, "subjects/AKK-001/visits/C2/dispense");
        var c3 = await _trial.Ok("pharm", HttpMethod.Post, "subjects/AKK-001/visits/C3/dispense");
        Assert.Equal(["C1", "C2", "C3"], c3.GetProperty("dispensations").EnumerateArray().Select(d => d.GetProperty("visit").GetString()).ToList());
        Assert.Equal(3, c3.GetProperty("dispensations").EnumerateArray().Select(d => d.GetProperty("kitNumber").GetString()).Distinct().Count());

        // Four of five kits used: one left, below the trigger; the timer orders up to the maximum level, once.
        var inventory = await _trial.Ok("pharm", HttpMethod.Get, "sites/CN01/inventory");
        Assert.Equal(1, inventory.GetProperty("available").GetInt32());
        var maximum = System.Text.Json.Nodes.JsonNode.Parse(IwrsFactory.StudyFile("akk-mcrc.json"))!["supply"]!["maximumLevel"]!.GetValue<int>();
        var resupply = _app.Services.GetRequiredService<ResupplyCheck>();
        var run = await resupply.RunAsync(new Iwrs.Functions.Hosting.TimerInvocation(ResupplyCheck.FunctionName, DateTimeOffset.UnixEpoch, false), CancellationToken.None);
        Assert.Contains(run, l => l.StartsWith($"{Study}/CN01: shipment", StringComparison.Ordinal));
        var rerun = await resupply.RunAsync(new Iwrs.Functions.Hosting.TimerInvocation(ResupplyCheck.FunctionName, DateTimeOffset.UnixEpoch, false), CancellationToken.None);
        Assert.DoesNotContain(rerun, l => l.Contains("shipment", StringComparison.Ordinal));
        var shipments = await _trial.Ok("pharm", HttpMethod.Get, "shipments");
        var resupplied = shipments.EnumerateArray().Single(s => s.GetProperty("reason").GetString() == "resupply");
        Assert.Equal(maximum - 1, resupplied.GetProperty("kitCount").GetInt32());

        // The site receives it; stock is back to the maximum.
        var id = resupplied.GetProperty("shipmentId").GetString()!;
        await _trial.Ok("depot", HttpMethod.Post, $"shipments/{id}/dispatch");
        var kits = resupplied.GetProperty("kits").EnumerateArray().Select(k => k.GetProperty("kitNumber").GetString()!).ToList();
        await _trial.Ok("pharm", HttpMethod.Post, $"shipments/{id}/receive", new { kits = kits.Select(k => new { kitNumber = k, condition = "ok" }) });
        Assert.Equal(maximum, (await _trial.Ok("pharm", HttpMethod.Get, "sites/CN01/inventory")).GetProperty("available").GetInt32());

        // Discontinuation stops dispensing; an emergency code break is still audited in an open-label study.
        await _trial.Ok("coord", HttpMethod.Post, "subjects/AKK-002/discontinue", new { reason = "Disease progression" });
        await _trial.Fails("pharm", HttpMethod.Post, "subjects/AKK-002/visits/C2/dispense", null, HttpStatusCode.Conflict, "subject-discontinued");
        var unblinded = await _trial.Ok("inv", HttpMethod.Post, "subjects/AKK-001/unblind", new { reason = "Emergency surgery" });
        Assert.Equal("AKK", unblinded.GetProperty("arm").GetString());

        var audit = await _trial.Ok("manager", HttpMethod.Get, "audit");
        var actions = audit.EnumerateArray().Select(a => a.GetProperty("action").GetString()).ToList();
        foreach (var action in new[] { "study.created", "kits.imported", "shipment.created", "shipment.dispatched", "shipment.received", "subject.enrolled", "kit.dispensed", "subject.discontinued", "subject.unblinded" })
        {
            Assert.Contains(action, actions);
        }

        Assert.True((await _trial.Ok("manager", HttpMethod.Get, "audit/verify")).GetProperty("intact").GetBoolean());
    }
}

using System.Text;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Iwrs.Web.Tests.Browser;

/// <summary>What site staff and the depot do, by clicking, in a real browser against the real app and Azurite; each
/// outcome is then read back from the API, so the page is shown to have done what it says.</summary>
[Collection(BrowserCollection.Name)]
public sealed class SiteScenarioTests(WebAppServer web)
{
    private const string Study = WebAppServer.Study;

    [Fact]
    public async Task Coordinator_SignsInRandomizesAndDispensesC2_TheApiHasTheSameKits()
    {
        var page = await web.AnonymousPage();
        await page.GotoAsync("");
        // Not signed in: the app sends you to the development sign-in, which lists the demo users.
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Sign in" })).ToBeVisibleAsync();
        await page.GetByRole(AriaRole.Button, new() { Name = "coordinator-cn01" }).ClickAsync();
        await Expect(page.GetByTestId("user")).ToHaveTextAsync("coordinator-cn01");

        await page.Locator("#study-" + Study).Locator("..").GetByRole(AriaRole.Link, new() { Name = "Randomize a subject" }).ClickAsync();
        await page.GetByLabel("Subject id").FillAsync("WEB-001");
        await page.GetByRole(AriaRole.Group, new() { Name = "ECOG performance status" }).GetByLabel("1").CheckAsync();
        await page.GetByRole(AriaRole.Group, new() { Name = "Liver metastases" }).GetByLabel("yes").CheckAsync();
        await page.GetByLabel("I confirm that this subject meets every inclusion criterion").CheckAsync();
        await page.GetByRole(AriaRole.Button, new() { Name = "Review" }).ClickAsync();

        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Check before you randomize" })).ToBeVisibleAsync();
        await page.GetByRole(AriaRole.Button, new() { Name = "Randomize WEB-001" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "WEB-001 is randomized" })).ToBeVisibleAsync();
        var number = await page.GetByTestId("number").InnerTextAsync();
        var c1 = await page.GetByTestId("kit").InnerTextAsync();

        await page.GetByRole(AriaRole.Link, new() { Name = "Open the subject" }).ClickAsync();
        await Expect(page.GetByLabel("Visit")).ToHaveValueAsync("C2");
        await page.GetByRole(AriaRole.Button, new() { Name = "Dispense C2" }).ClickAsync();
        await Expect(page.GetByTestId("dispensed-kit")).ToBeVisibleAsync();
        var c2 = await page.GetByTestId("dispensed-kit").InnerTextAsync();

        var subject = await web.Api("coordinator-cn01", HttpMethod.Get, $"studies/{Study}/subjects/WEB-001");
        Assert.Equal(number, subject.GetProperty("number").GetString());
        var kits = subject.GetProperty("dispensations").EnumerateArray().ToDictionary(d => d.GetProperty("visit").GetString()!, d => d.GetProperty("kitNumber").GetString()!);
        Assert.Equal(new Dictionary<string, string> { ["C1"] = c1, ["C2"] = c2 }, kits);

        // The subject list shows it with its last visit and the next one due.
        await WebAppServer.Open(page, $"studies/{Study}/sites/CN01/subjects");
        var row = page.GetByRole(AriaRole.Row).Filter(new() { HasText = "WEB-001" });
        await Expect(row).ToContainTextAsync(number);
        await Expect(row).ToContainTextAsync("C2 on");
        await Expect(row).ToContainTextAsync("C3 on");
    }

    [Fact]
    public async Task Pharmacist_ReceivesShipmentWithOneDamagedKit_ShipmentIsHeldWithThatKitDamaged()
    {
        var (shipmentId, kits) = await web.DispatchShipment(2);
        var damaged = kits[1];
        var page = await web.PageFor("pharmacist-cn01");
        await WebAppServer.Open(page, $"studies/{Study}/sites/CN01/pharmacy");

        var form = page.Locator("form").Filter(new() { Has = page.GetByRole(AriaRole.Heading, new() { Name = "Receive shipment " + shipmentId }) });
        foreach (var kit in kits)
        {
            await Expect(form.GetByLabel(kit, new() { Exact = true })).ToHaveValueAsync("ok");
        }

        await form.GetByLabel(damaged, new() { Exact = true }).SelectOptionAsync("damaged");
        await form.GetByRole(AriaRole.Button, new() { Name = "Record receipt of " + shipmentId }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Status).Filter(new() { HasText = "Shipment " + shipmentId + " recorded" })).ToContainTextAsync("1 kit(s) not usable");
        await Expect(page.Locator($"tr[data-shipment={shipmentId}]")).ToContainTextAsync("held");
        await Expect(page.Locator($"tr[data-shipment={shipmentId}]")).ToContainTextAsync(damaged + " damaged");

        var shipments = await web.Api("depot-manager", HttpMethod.Get, $"studies/{Study}/shipments");
        var stored = shipments.EnumerateArray().Single(s => s.GetProperty("shipmentId").GetString() == shipmentId);
        Assert.Equal("awaiting-release", stored.GetProperty("status").GetString());
        var conditions = stored.GetProperty("kits").EnumerateArray().ToDictionary(k => k.GetProperty("kitNumber").GetString()!, k => k.GetProperty("condition").GetString()!);
        Assert.Equal(kits.ToDictionary(k => k, k => k == damaged ? "damaged" : "ok"), conditions);
    }

    [Fact]
    public async Task Pharmacist_ReportsAShelfKitMissing_ReasonRequired_TheKitLeavesTheShelf()
    {
        // Stock of its own first (2 + 2), so the site is no shorter for the other tests.
        var (shipmentId, kits) = await web.DispatchShipment(2);
        await web.Api("pharmacist-cn01", HttpMethod.Post, $"studies/{Study}/shipments/{shipmentId}/receive", new { kits = kits.Select(n => new { kitNumber = n, condition = "ok" }) });
        var reported = kits[0];
        var page = await web.PageFor("pharmacist-cn01");
        await WebAppServer.Open(page, $"studies/{Study}/sites/CN01/pharmacy");
        var form = page.Locator("form").Filter(new() { Has = page.GetByRole(AriaRole.Heading, new() { Name = "Report a kit on the shelf damaged or missing" }) });
        await form.GetByLabel("Kit", new() { Exact = true }).SelectOptionAsync(reported);
        await form.GetByLabel("Condition").SelectOptionAsync("missing");

        // Without a reason the API refuses it, and the page says why next to the field.
        await form.GetByRole(AriaRole.Button, new() { Name = "Report the kit" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Alert)).ToContainTextAsync("reason");
        Assert.Contains((await web.Api("pharmacist-cn01", HttpMethod.Get, $"studies/{Study}/sites/CN01/inventory")).GetProperty("kits").EnumerateArray(), k => k.GetProperty("kitNumber").GetString() == reported);

        var before = (await web.Api("depot-manager", HttpMethod.Get, $"studies/{Study}/shipments")).EnumerateArray().Select(s => s.GetProperty("shipmentId").GetString()).ToHashSet();
        await form.GetByLabel("Reason").FillAsync("not in the fridge at the count");
        await form.GetByRole(AriaRole.Button, new() { Name = "Report the kit" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Status).Filter(new() { HasText = "Kit " + reported + " recorded as missing" })).ToBeVisibleAsync();

        var inventory = await web.Api("pharmacist-cn01", HttpMethod.Get, $"studies/{Study}/sites/CN01/inventory");
        Assert.DoesNotContain(inventory.GetProperty("kits").EnumerateArray(), k => k.GetProperty("kitNumber").GetString() == reported);
        var audit = await web.Api("study-manager", HttpMethod.Get, $"studies/{Study}/audit");
        Assert.Contains(audit.EnumerateArray(), r => r.GetProperty("action").GetString() == "kit.reported" && r.GetProperty("target").GetString() == "kit:" + reported);

        // The site is on hold until the replacement (the lost kit's type and one of each) is on its shelf: the depot
        // sends it and the pharmacist receives it, so the site is open again for the other tests.
        var replacement = (await web.Api("depot-manager", HttpMethod.Get, $"studies/{Study}/shipments")).EnumerateArray()
            .Single(s => s.GetProperty("reason").GetString() == "replacement" && !before.Contains(s.GetProperty("shipmentId").GetString()));
        Assert.Equal(3, replacement.GetProperty("kitCount").GetInt32());
        var replacementId = replacement.GetProperty("shipmentId").GetString()!;
        await web.Api("depot-manager", HttpMethod.Post, $"studies/{Study}/shipments/{replacementId}/dispatch");
        await web.Api("pharmacist-cn01", HttpMethod.Post, $"studies/{Study}/shipments/{replacementId}/receive", new { kits = replacement.GetProperty("kits").EnumerateArray().Select(k => new { kitNumber = k.GetProperty("kitNumber").GetString(), condition = "ok" }) });
        var after = await web.Api("pharmacist-cn01", HttpMethod.Get, $"studies/{Study}/sites/CN01/inventory");
        Assert.Equal(inventory.GetProperty("available").GetInt32() + 3, after.GetProperty("available").GetInt32());
    }

    [Fact]
    public async Task Investigator_UnblindsAfterTypingTheSubjectAgain_SeesTheArmTheListGave()
    {
        await web.Api("coordinator-cn01", HttpMethod.Post, $"studies/{Study}/subjects/WEB-UNB/randomize",
            new { siteId = "CN01", eligibilityConfirmed = true, stratificationFactors = new Dictionary<string, string> { ["ecog"] = "0", ["liver-mets"] = "no" } });
        var page = await web.PageFor("investigator-cn01");
        await WebAppServer.Open(page, $"studies/{Study}/sites/CN01/unblind");
        await Expect(page.GetByTestId("notified")).ToContainTextAsync("medical monitor");

        await page.GetByLabel("Subject id").FillAsync("WEB-UNB");
        await page.GetByRole(AriaRole.Button, new() { Name = "Continue" }).ClickAsync();
        await Expect(page.GetByText("Reason is required.")).ToBeVisibleAsync();
        await page.GetByLabel("Medical reason for unblinding (required)").FillAsync("Severe hepatotoxicity; treating physician needs the allocation.");
        await page.GetByRole(AriaRole.Button, new() { Name = "Continue" }).ClickAsync();
        await page.GetByLabel("Type the subject id again").FillAsync("WEB-UN8");
        await page.GetByRole(AriaRole.Button, new() { Name = "Unblind WEB-UNB" }).ClickAsync();
        await Expect(page.GetByText("does not match. Nothing was unblinded.")).ToBeVisibleAsync();
        await Expect(page.GetByTestId("arm")).ToHaveCountAsync(0);

        await page.GetByLabel("Type the subject id again").FillAsync("WEB-UNB");
        await page.GetByRole(AriaRole.Button, new() { Name = "Unblind WEB-UNB" }).ClickAsync();
        var truth = await web.Api("statistician", HttpMethod.Get, $"studies/{Study}/subjects/WEB-UNB");
        await Expect(page.GetByTestId("arm")).ToContainTextAsync("(" + truth.GetProperty("arm").GetString() + ")");
    }

    [Fact]
    public async Task Statistician_ExportsTheList_ThePageRecomputesTheAuditTrailsCommitment()
    {
        var page = await web.PageFor("statistician");
        await WebAppServer.Open(page, $"studies/{Study}/randomization-list");
        await page.GetByRole(AriaRole.Button, new() { Name = "Export the list (CSV)" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Status).Filter(new() { HasText = "HMAC-SHA256 of the exported file" })).ToContainTextAsync("it matches the commitment.");

        // The commitment the page matched is the one the audit trail published at activation.
        var audit = await web.Api("statistician", HttpMethod.Get, $"studies/{Study}/audit");
        var published = audit.EnumerateArray().SelectMany(r => r.GetProperty("changes").EnumerateArray())
            .Where(c => c.GetProperty("field").GetString() == "commitment").Select(c => c.GetProperty("after").GetString()).ToList();
        Assert.Contains(await page.GetByTestId("list").Locator("dd code").First.InnerTextAsync(), published);
    }

    [Fact]
    public async Task Coordinator_CannotReachTheUnblindingScreen()
    {
        var page = await web.PageFor("coordinator-cn01");
        await WebAppServer.Open(page, "");
        await Expect(page.GetByRole(AriaRole.Link, new() { Name = "Emergency unblinding" })).ToHaveCountAsync(0);

        await WebAppServer.Open(page, $"studies/{Study}/sites/CN01/unblind");
        await Expect(page.GetByTestId("not-allowed")).ToBeVisibleAsync();
        await Expect(page.GetByLabel("Subject id")).ToHaveCountAsync(0);
        await Expect(page.GetByRole(AriaRole.Button)).ToHaveCountAsync(0);
    }

    [Fact]
    public async Task DepotManager_ImportsCsvWithOneBadRow_OtherRowsImportedAndTheBadRowNamed()
    {
        var numbers = Enumerable.Range(0, 6).Select(_ => WebAppServer.KitNumber()).ToList();
        var csv = new StringBuilder("kitNumber,kitType,lot,expiry\n");
        string[] types = ["LJ-CAPS", "PBO-CAPS", "PBO-CAPS", "LJ-CAPS", "PBO-CAPS", "LJ-CAPS"];
        for (var i = 0; i < numbers.Count; i++)
        {
            csv.Append(numbers[i]).Append(',').Append(types[i]).Append(",LOT-W,").Append(i == 3 ? "2029-13-01" : "2029-05-31").Append('\n');
        }

        var page = await web.PageFor("depot-manager");
        await WebAppServer.Open(page, $"studies/{Study}/depot");
        await page.GetByLabel("Kit list (CSV)").SetInputFilesAsync(new FilePayload { Name = "kits.csv", MimeType = "text/csv", Buffer = Encoding.UTF8.GetBytes(csv.ToString()) });
        await page.GetByRole(AriaRole.Button, new() { Name = "Import 6 row(s)" }).ClickAsync();

        await Expect(page.GetByTestId("import-result")).ToHaveTextAsync("5 kit(s) imported, 0 already present, 1 row(s) not imported.");
        var errors = page.GetByTestId("row-errors").Locator("tbody tr");
        await Expect(errors).ToHaveCountAsync(1);
        await Expect(errors).ToContainTextAsync("5");
        await Expect(errors).ToContainTextAsync(numbers[3]);
        await Expect(errors).ToContainTextAsync("Expiry must be a date as yyyy-MM-dd.");

        // The five good kits are at the depot: a shipment can be made of them only if they exist, so the depot's
        // own import answer for the same rows says they are all already present.
        var again = await web.Api("depot-manager", HttpMethod.Post, $"studies/{Study}/kits/import",
            new { kits = numbers.Select((n, i) => (n, i)).Where(x => x.i != 3).Select(x => new { kitNumber = x.n, kitType = types[x.i], lot = "LOT-W", expiry = "2029-05-31" }) });
        Assert.Equal(5, again.GetProperty("alreadyPresent").GetInt32());
        Assert.Equal(0, again.GetProperty("imported").GetInt32());
    }
}

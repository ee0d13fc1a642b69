using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Iwrs.Web.Tests.Browser;

/// <summary>Study-wide screens: the audit view shows what changed, and the randomization list's forms are the
/// unblinded statistician's alone (as the API allows).</summary>
[Collection(BrowserCollection.Name)]
public sealed class StudyRolesTests(WebAppServer web)
{
    [Fact]
    public async Task AuditView_ShowsAChangedFieldsValueBeforeAndAfter()
    {
        var (shipmentId, _) = await web.DispatchShipment(1);
        var page = await web.PageFor("study-manager");
        await WebAppServer.Open(page, $"studies/{WebAppServer.Study}/audit");
        await page.GetByLabel("Target contains").FillAsync("shipment:" + shipmentId);

        var row = page.GetByRole(AriaRole.Row).Filter(new() { HasText = "shipment.dispatched" });
        await Expect(row).ToHaveCountAsync(1);
        await Expect(row.Locator("td[data-label=Changes]")).ToHaveTextAsync("status: requested → dispatched");
    }

    [Theory]
    [InlineData("study-manager", "LJ-MCRC")]
    [InlineData("study-manager", "AKK-MCRC")]
    [InlineData("depot-manager", "AKK-MCRC")]
    public async Task RandomizationList_OthersThanTheStatistician_GetNoForms(string user, string study)
    {
        var page = await web.PageFor(user);
        await WebAppServer.Open(page, $"studies/{study}/randomization-list");
        await Expect(page.GetByTestId("not-allowed")).ToBeVisibleAsync();
        await Expect(page.GetByRole(AriaRole.Button)).ToHaveCountAsync(0);
        await Expect(page.Locator("input, textarea, select")).ToHaveCountAsync(0);
    }

    [Fact]
    public async Task RandomizationList_TheStatisticianOfAStudyWithoutAList_GetsGenerateAndImport()
    {
        var page = await web.PageFor("statistician");
        await WebAppServer.Open(page, "studies/AKK-MCRC/randomization-list");
        await Expect(page.GetByTestId("not-allowed")).ToHaveCountAsync(0);
        await Expect(page.GetByRole(AriaRole.Button, new() { Name = "Generate the list" })).ToBeVisibleAsync();
        await Expect(page.GetByLabel("List (CSV: stratum,position,block,blockSize,arm)")).ToBeVisibleAsync();
    }
}

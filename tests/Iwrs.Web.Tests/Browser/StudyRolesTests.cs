using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Iwrs.Web.Tests.Browser;

/// <summary>Study-wide screens: the audit view shows what changed.</summary>
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
}

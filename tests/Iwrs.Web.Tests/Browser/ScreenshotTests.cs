using System.Buffers.Binary;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Iwrs.Web.Tests.Browser;

/// <summary>
/// The main screens at a phone's width and a desktop's, as PNG files in the test output (docs/screenshots in the
/// repository when <c>IWRS_SCREENSHOTS</c> names that folder: <c>IWRS_SCREENSHOTS=$PWD/docs/screenshots dotnet test
/// tests/Iwrs.Web.Tests --filter ScreenshotTests</c>). Each picture is checked to be a PNG of the page's width.
/// </summary>
[Collection(BrowserCollection.Name)]
public sealed class ScreenshotTests(WebAppServer web)
{
    private static readonly string Folder = Environment.GetEnvironmentVariable("IWRS_SCREENSHOTS") is { Length: > 0 } folder
        ? folder
        : Path.Combine(AppContext.BaseDirectory, "screenshots");

    [Fact]
    public async Task MainScreens_AreCapturedAtPhoneAndDesktopWidths()
    {
        var study = WebAppServer.Study;
        var coordinator = await web.PageFor("coordinator-cn01");
        await WebAppServer.Open(coordinator, "");
        await Capture(coordinator, "home-desktop", 1280);

        var phone = await web.PageFor("coordinator-cn01", phone: true);
        await WebAppServer.Open(phone, $"studies/{study}/sites/CN01/randomize");
        await phone.GetByLabel("Subject id").FillAsync("SHOT-01");
        await phone.GetByRole(AriaRole.Group, new() { Name = "ECOG performance status" }).GetByLabel("0").CheckAsync();
        await phone.GetByRole(AriaRole.Group, new() { Name = "Liver metastases" }).GetByLabel("no").CheckAsync();
        await phone.GetByLabel("I confirm that this subject meets every inclusion criterion").CheckAsync();
        await Capture(phone, "randomize-phone", 390);
        await phone.GetByRole(AriaRole.Button, new() { Name = "Review" }).ClickAsync();
        await phone.GetByRole(AriaRole.Button, new() { Name = "Randomize SHOT-01" }).ClickAsync();
        await Expect(phone.GetByTestId("number")).ToBeVisibleAsync();
        await Capture(phone, "randomized-phone", 390);

        await WebAppServer.Open(coordinator, $"studies/{study}/sites/CN01/subjects");
        await Capture(coordinator, "subjects-desktop", 1280);

        await web.DispatchShipment(2);
        var pharmacist = await web.PageFor("pharmacist-cn01", phone: true);
        await WebAppServer.Open(pharmacist, $"studies/{study}/sites/CN01/pharmacy");
        await Capture(pharmacist, "pharmacy-phone", 390);

        var investigator = await web.PageFor("investigator-cn01");
        await WebAppServer.Open(investigator, $"studies/{study}/sites/CN01/unblind");
        await Capture(investigator, "unblind-desktop", 1280);

        var depot = await web.PageFor("depot-manager");
        await WebAppServer.Open(depot, $"studies/{study}/depot");
        await Capture(depot, "depot-desktop", 1280);

        var manager = await web.PageFor("study-manager");
        await WebAppServer.Open(manager, $"studies/{study}/audit");
        await Capture(manager, "audit-desktop", 1280);
    }

    private static async Task Capture(IPage page, string name, int width)
    {
        Directory.CreateDirectory(Folder);
        var path = Path.Combine(Folder, name + ".png");
        var png = await page.ScreenshotAsync(new PageScreenshotOptions { Path = path, FullPage = true });
        // PNG signature, then the IHDR chunk: width at bytes 16-19 (big-endian).
        Assert.Equal([0x89, 0x50, 0x4E, 0x47], png[..4]);
        Assert.Equal(width, BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(16, 4)));
    }
}

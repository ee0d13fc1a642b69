using Deque.AxeCore.Commons;
using Deque.AxeCore.Playwright;

namespace Iwrs.Web.Tests.Browser;

/// <summary>axe-core's WCAG 2.1 A and AA rules (contrast, labels, names, landmarks) on the main screens, at a phone's
/// width and a desktop's.</summary>
[Collection(BrowserCollection.Name)]
public sealed class AccessibilityTests(WebAppServer web)
{
    public static TheoryData<string, string, bool> Screens => new()
    {
        { "coordinator-cn01", "", true },
        { "coordinator-cn01", $"studies/{WebAppServer.Study}/sites/CN01/subjects", true },
        { "coordinator-cn01", $"studies/{WebAppServer.Study}/sites/CN01/randomize", true },
        { "coordinator-cn01", $"studies/{WebAppServer.Study}/sites/CN01/randomize", false },
        { "pharmacist-cn01", $"studies/{WebAppServer.Study}/sites/CN01/pharmacy", true },
        { "investigator-cn01", $"studies/{WebAppServer.Study}/sites/CN01/unblind", true },
        { "depot-manager", $"studies/{WebAppServer.Study}/depot", false },
        { "study-manager", $"studies/{WebAppServer.Study}/manage", false },
        { "study-manager", $"studies/{WebAppServer.Study}/audit", false },
        { "statistician", $"studies/{WebAppServer.Study}/randomization-list", false },
        { "coordinator-cn01", "pin", true },
    };

    [Theory]
    [MemberData(nameof(Screens))]
    public async Task Screen_HasNoWcagAaViolations(string user, string path, bool phone)
    {
        var page = await web.PageFor(user, phone);
        await WebAppServer.Open(page, path);
        var result = await page.RunAxe(new AxeRunOptions
        {
            RunOnly = new RunOnlyOptions { Type = "tag", Values = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"] },
        });
        Assert.True(result.Violations.Length == 0, string.Join("\n", result.Violations.Select(v => $"{v.Id}: {v.Help} at {string.Join(", ", v.Nodes.Select(n => n.Html))}")));
        Assert.True(result.Passes.Length > 0, "axe ran no rule");
    }
}

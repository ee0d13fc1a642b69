using System.Text.Json;
using System.Text.RegularExpressions;
using Iwrs.Testing;

namespace Iwrs.Web.Tests.Browser;

/// <summary>
/// The blind scan extended to the web app: every page a blinded role can reach by following links from its home page
/// (and the pages of a subject at its site) is opened in the browser, and its text and markup are searched for the
/// blinded studies' arm codes and names, kit type codes and descriptions, and any mention of blocks — taken from
/// the study definitions in studies/.
/// </summary>
[Collection(BrowserCollection.Name)]
public sealed partial class BlindedPageTests(WebAppServer web)
{
    public static TheoryData<string> BlindedUsers => ["coordinator-cn01", "pharmacist-cn01", "investigator-cn01", "study-manager", "medical-monitor"];

    [Theory]
    [MemberData(nameof(BlindedUsers))]
    public async Task EveryPageABlindedRoleCanOpen_ShowsNoArmKitTypeOrBlockSize(string user)
    {
        // A subject with kits at CN01, so the subject pages have something to show (repeating is a no-op).
        await web.Api("coordinator-cn01", HttpMethod.Post, $"studies/{WebAppServer.Study}/subjects/WEB-BLD/randomize",
            new { siteId = "CN01", eligibilityConfirmed = true, stratificationFactors = new Dictionary<string, string> { ["ecog"] = "0", ["liver-mets"] = "yes" } });
        var terms = BlindedTerms();
        var page = await web.PageFor(user);

        var queue = new Queue<string>([string.Empty, "pin", $"studies/{WebAppServer.Study}/subjects/WEB-BLD"]);
        var seen = new HashSet<string>(queue, StringComparer.Ordinal);
        while (queue.Count > 0)
        {
            var path = queue.Dequeue();
            await WebAppServer.Open(page, path);
            var text = await page.Locator("body").InnerTextAsync();
            var markup = await page.Locator("#app").EvaluateAsync<string>("e => e.outerHTML");
            foreach (var (name, pattern) in terms)
            {
                Assert.False(pattern.IsMatch(text), $"{user} sees '{name}' on /{path}: {text}");
                Assert.False(pattern.IsMatch(markup), $"{user}'s page /{path} holds '{name}' in its markup");
            }

            foreach (var href in await page.Locator("main a[href]").EvaluateAllAsync<string[]>("links => links.map(a => a.getAttribute('href'))"))
            {
                if (!href.StartsWith("http", StringComparison.Ordinal) && !href.StartsWith('#') && href != "." && seen.Add(href))
                {
                    queue.Enqueue(href);
                }
            }
        }

        // The crawl reached the role's screens (each role has at least two beyond the home and PIN pages).
        Assert.True(seen.Count >= 5, $"{user} reached only {string.Join(", ", seen)}");
    }

    /// <summary>What blinded staff must never see, from every blinded study's definition.</summary>
    private static List<(string Name, Regex Pattern)> BlindedTerms()
    {
        var terms = new List<(string, Regex)> { ("block", BlockWord()) };
        foreach (var file in Directory.GetFiles(Path.Combine(AzuriteServer.RepositoryRoot(), "studies"), "*.json"))
        {
            var study = JsonDocument.Parse(File.ReadAllText(file)).RootElement;
            if (study.GetProperty("design").GetProperty("blinding").GetString() != "blinded")
            {
                continue;
            }

            foreach (var arm in study.GetProperty("arms").EnumerateArray())
            {
                // An arm code is a short token ("LJ") that is also the start of the study id ("LJ-MCRC"): matched only
                // standing alone.
                terms.Add(Token(arm.GetProperty("code").GetString()!));
                terms.Add(Phrase(arm.GetProperty("name").GetString()!));
            }

            foreach (var kit in study.GetProperty("kitTypes").EnumerateArray())
            {
                terms.Add(Phrase(kit.GetProperty("code").GetString()!));
                terms.Add(Phrase(kit.GetProperty("description").GetString()!));
            }

            foreach (var size in study.GetProperty("randomization").GetProperty("blockSizes").EnumerateArray())
            {
                terms.Add(Phrase("block size " + size.GetInt32()));
            }
        }

        Assert.True(terms.Count > 5, "no blinded study found in studies/");
        return terms;

        static (string, Regex) Token(string code) => (code, new Regex("(?<![A-Za-z0-9-])" + Regex.Escape(code) + "(?![A-Za-z0-9-])", RegexOptions.CultureInvariant));
        static (string, Regex) Phrase(string text) => (text, new Regex(Regex.Escape(text), RegexOptions.IgnoreCase | RegexOptions.CultureInvariant));
    }

    [GeneratedRegex(@"\bblock", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex BlockWord();
}

using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Iwrs.Functions.Hosting;
using Iwrs.Functions.Tests.Scenarios;

namespace Iwrs.Functions.Tests.Features;

/// <summary>CSV exports a spreadsheet cannot run, and JSON bodies that mean one thing to every reader.</summary>
public sealed class SafeExportTests
{
    private const string Study = "AKK-MCRC";

    /// <summary>An RFC 4180 reader: quoted cells may hold commas, doubled quotes and line breaks.</summary>
    private static List<List<string>> ParseCsv(string text)
    {
        var rows = new List<List<string>>();
        var row = new List<string>();
        var cell = new StringBuilder();
        var quoted = false;
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (quoted)
            {
                if (c == '"' && i + 1 < text.Length && text[i + 1] == '"')
                {
                    cell.Append('"');
                    i++;
                }
                else if (c == '"')
                {
                    quoted = false;
                }
                else
                {
                    cell.Append(c);
                }
            }
            else if (c == '"' && cell.Length == 0)
            {
                quoted = true;
            }
            else if (c == ',')
            {
                row.Add(cell.ToString());
                cell.Clear();
            }
            else if (c == '\n')
            {
                row.Add(cell.ToString());
                cell.Clear();
                rows.Add(row);
                row = [];
            }
            else
            {
                Assert.NotEqual('"', c);
                cell.Append(c);
            }
        }

        Assert.False(quoted, "a quoted cell is not closed");
        Assert.Equal(0, cell.Length + row.Count);
        return rows;
    }

    public static TheoryData<string?, string> Cells => new()
    {
        { null, "" },
        { "plain", "plain" },
        { "=cmd|' /C calc'!A0", "'=cmd|' /C calc'!A0" },
        { "@SUM(1+1)", "'@SUM(1+1)" },
        { "+1", "'+1" },
        { "-1", "'-1" },
        { "\tx", "'\tx" },
        { "\rx", "\"'\rx\"" },
        { "a,b", "\"a,b\"" },
        { "say \"hi\"", "\"say \"\"hi\"\"\"" },
        { "=HYPERLINK(\"http://x\",\"y\")", "\"'=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\"" },
        { "line\nbreak", "\"line\nbreak\"" },
        { "a=b", "a=b" },
    };

    [Theory]
    [MemberData(nameof(Cells))]
    public void Cell_FormulaStartsNeutralised_AndQuotedAsRfc4180(string? value, string written) =>
        Assert.Equal(written, CsvText.Cell(value));

    [Fact]
    public async Task AuditCsv_ReasonsThatAreFormulas_AreTextCells()
    {
        await using var app = new IwrsFactory();
        var trial = await AkkTrial.WithSubjectsAsync(app, "AKK-001", "AKK-002");
        await app.Grant(Study, "manager", "study-manager");
        await trial.Ok("coord", HttpMethod.Post, "subjects/AKK-001/discontinue", new { reason = "=cmd|' /C calc'!A0" });
        await trial.Ok("coord", HttpMethod.Post, "subjects/AKK-002/discontinue", new { reason = "@SUM(1+1), \"quoted\"" });

        var csv = await (await trial.Client("manager")).GetStringAsync($"/api/studies/{Study}/audit?format=csv");
        var rows = ParseCsv(csv);

        var reason = rows[0].IndexOf("reason");
        Assert.All(rows, r => Assert.Equal(rows[0].Count, r.Count));
        Assert.Contains(rows, r => r[reason] == "'=cmd|' /C calc'!A0");
        Assert.Contains(rows, r => r[reason] == "'@SUM(1+1), \"quoted\"");
        Assert.All(rows.SelectMany(r => r), c => Assert.False(c.Length > 0 && "=+-@\t\r".Contains(c[0]), $"cell '{c}' starts with a formula character"));
    }

    [Fact]
    public async Task RandomizationListCsv_EveryCellSafe_AndStillTheCommittedText()
    {
        await using var app = new IwrsFactory();
        await app.LoadSeedStudies();
        await app.Grant("LJ-MCRC", "stat", "unblinded-statistician");
        var trial = new TrialDriver(app, "LJ-MCRC");
        await trial.Ok("stat", HttpMethod.Post, "randomization-list/generate", new { slotsPerStratum = 8 });

        using var response = await (await trial.Client("stat")).GetAsync("/api/studies/LJ-MCRC/randomization-list/export");
        var text = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var salt = Convert.FromHexString(response.Headers.GetValues("X-Iwrs-Commitment-Salt").Single());
        Assert.Equal(response.Headers.GetValues("X-Iwrs-Commitment").Single(), Convert.ToHexStringLower(HMACSHA256.HashData(salt, Encoding.UTF8.GetBytes(text))));
        Assert.All(ParseCsv(text).SelectMany(r => r), c => Assert.Equal(c, CsvText.Cell(c)));
    }

    /// <summary>
    /// Attacker review: the list commitment blinded readers see in the audit trail was the SHA-256 of the list, so for a
    /// small list anyone could hash guessed lists until one matched. Now it is keyed by a salt only unblinded roles get:
    /// a blinded manager holding the exact list (the best possible guess) still cannot reproduce what the trail shows,
    /// while the statistician, with the export and its salt, can.
    /// </summary>
    [Fact]
    public async Task RandomizationListCommitment_BlindedView_CannotBeRecomputedFromTheListWithoutTheSalt()
    {
        await using var app = new IwrsFactory();
        await app.LoadSeedStudies();
        await app.Grant("LJ-MCRC", "stat", "unblinded-statistician");
        await app.Grant("LJ-MCRC", "manager", "study-manager");
        var trial = new TrialDriver(app, "LJ-MCRC");
        var summary = await trial.Ok("stat", HttpMethod.Post, "randomization-list/generate", new { slotsPerStratum = 4 });

        using var response = await (await trial.Client("stat")).GetAsync("/api/studies/LJ-MCRC/randomization-list/export");
        var list = Encoding.UTF8.GetBytes(await response.Content.ReadAsStringAsync());
        var audit = await trial.Ok("manager", HttpMethod.Get, "audit");
        var shown = audit.EnumerateArray()
            .Where(r => r.GetProperty("action").GetString() == "randomization-list.activated")
            .SelectMany(r => r.GetProperty("changes").EnumerateArray())
            .Select(c => c.GetProperty("after").GetString())
            .ToList();
        var commitment = summary.GetProperty("commitment").GetString()!;
        var salt = summary.GetProperty("commitmentSalt").GetString()!;

        Assert.Contains(commitment, shown);
        Assert.DoesNotContain(Convert.ToHexStringLower(SHA256.HashData(list)), audit.GetRawText(), StringComparison.Ordinal);
        Assert.DoesNotContain(salt, audit.GetRawText(), StringComparison.Ordinal);
        Assert.Equal(commitment, Convert.ToHexStringLower(HMACSHA256.HashData(Convert.FromHexString(salt), list)));
    }

    [Fact]
    public async Task StudyLoad_CodeStartingWithMinus_RefusedSoNoListCellCanBeAFormula()
    {
        await using var app = new IwrsFactory();
        var admin = await app.ClientFor(IwrsFactory.Admin);
        var study = JsonNode.Parse(IwrsFactory.StudyFile("akk-mcrc.json"))!;
        study["arms"]![0]!["code"] = "-AKK";

        using var response = await admin.PutAsync($"/api/studies/{Study}", IwrsFactory.Json(study.ToJsonString()));
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains(problem.GetProperty("errors").EnumerateArray(), e => e.GetProperty("field").GetString() == "arms[0].code"
            && e.GetProperty("reason").GetString()!.Contains("not starting with '-'", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Body_DuplicateProperty_InvalidJsonNamingIt_AndNothingDone()
    {
        await using var app = new IwrsFactory();
        await app.LoadSeedStudies();
        await app.Grant(Study, "coord", "site-coordinator", "CN01");
        var coord = await app.ClientFor("coord");

        using var response = await coord.PostAsync($"/api/studies/{Study}/subjects/AKK-001/randomize",
            IwrsFactory.Json("""{"siteId":"CN02","siteId":"CN01","eligibilityConfirmed":true}"""));
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("invalid-json", problem.GetProperty("code").GetString());
        Assert.Contains("'siteId'", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Equal("$.siteId", problem.GetProperty("errors")[0].GetProperty("field").GetString());
        using var subject = await coord.GetAsync($"/api/studies/{Study}/subjects/AKK-001");
        Assert.Equal(HttpStatusCode.NotFound, subject.StatusCode);
    }

    [Fact]
    public async Task Body_DuplicatePropertyInANestedObject_InvalidJsonNamingIt()
    {
        await using var app = new IwrsFactory();
        var admin = await app.ClientFor(IwrsFactory.Admin);
        var study = IwrsFactory.StudyFile("akk-mcrc.json");
        var duplicated = study.Replace("\"unitsPerKit\": 30,", "\"unitsPerKit\": 30, \"unitsPerKit\": 60,", StringComparison.Ordinal);
        Assert.NotEqual(study, duplicated);

        using var response = await admin.PutAsync($"/api/studies/{Study}", IwrsFactory.Json(duplicated));
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("invalid-json", problem.GetProperty("code").GetString());
        Assert.Contains("'unitsPerKit'", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }
}

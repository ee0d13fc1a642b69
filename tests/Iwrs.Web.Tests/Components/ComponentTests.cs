using System.Text.Json;
using Bunit;
using Bunit.TestDoubles;
using Iwrs.Web.Api;
using Iwrs.Web.Auth;
using Iwrs.Web.Shared;
using Microsoft.Extensions.DependencyInjection;

namespace Iwrs.Web.Tests.Components;

/// <summary>The small pieces, without a browser: problems as sentences and field errors next to their fields, the
/// progress bar, the kit list reader, the visit plan.</summary>
public sealed class ComponentTests : BunitContext
{
    private static readonly ApiProblem Invalid = new(400, "validation-failed", "Validation failed.",
        [new FieldProblem("reason", "is required (at most 1000 characters)."), new FieldProblem("kits[2].expiry", "must be a date as yyyy-MM-dd.")]);

    [Fact]
    public void FieldErrors_ShowsOnlyItsFieldsReasons()
    {
        var reason = Render<FieldErrors>(p => p.Add(c => c.Field, "reason").Add(c => c.Problem, Invalid).Add(c => c.Label, "Reason").Add(c => c.Id, "r"));
        Assert.Equal("Reason is required (at most 1000 characters).", reason.Find("#r").TextContent.Trim());

        var other = Render<FieldErrors>(p => p.Add(c => c.Field, "pin").Add(c => c.Problem, Invalid));
        Assert.Empty(other.FindAll(".field-error"));
    }

    [Fact]
    public void ProblemBox_SaysTheCodesSentenceNotTheRawDetail()
    {
        var box = Render<ProblemBox>(p => p.Add(c => c.Problem, new ApiProblem(409, "supply-hold", "Site CN01 is on supply hold.", null)));
        Assert.Contains("The site is on supply hold", box.Find(".problem").TextContent, StringComparison.Ordinal);
        Assert.Equal("supply-hold", box.Find(".problem").GetAttribute("data-code"));

        // A code the app has no words for: the API's own detail.
        var unknown = Render<ProblemBox>(p => p.Add(c => c.Problem, new ApiProblem(409, "something-new", "Something new happened.", null)));
        Assert.Contains("Something new happened.", unknown.Find(".problem").TextContent, StringComparison.Ordinal);
    }

    [Fact]
    public void Working_ShowsHowFarALongActionIs()
    {
        var bar = Render<Working>(p => p.Add(c => c.Active, true).Add(c => c.Text, "Importing").Add(c => c.Done, 3).Add(c => c.Total, 10));
        var progress = bar.Find("progress");
        Assert.Equal("10", progress.GetAttribute("max"));
        Assert.Equal("3", progress.GetAttribute("value"));

        var idle = Render<Working>(p => p.Add(c => c.Active, false));
        Assert.Empty(idle.FindAll("progress"));
    }

    [Fact]
    public void KitCsv_ReadsColumnsInAnyOrderAndNamesRowsWithTheWrongShape()
    {
        var (rows, error) = KitCsv.Parse("expiry,kitNumber,kitType,lot\r\n2029-01-31,ABCD2345,LJ-CAPS,L1\r\n\r\n2029-01-31,WXYZ6789\r\n");
        Assert.Null(error);
        Assert.Equal(2, rows.Count);
        Assert.Equal(new KitLine("ABCD2345", "LJ-CAPS", "L1", "2029-01-31"), rows[0].Kit);
        Assert.Equal(2, rows[0].Line);
        Assert.Null(rows[1].Kit);
        Assert.Equal(4, rows[1].Line);
        Assert.Equal("has 2 values; the header names 4.", rows[1].Error);

        Assert.NotNull(KitCsv.Parse("kit,type\nA,B\n").Error);
        Assert.Equal(2, KitCsv.RowOf("kits[2].expiry"));
        Assert.Null(KitCsv.RowOf("kits"));
    }

    [Fact]
    public void VisitPlan_NextVisitIsOneCycleAfterTheLast_NoneAfterDiscontinuation()
    {
        var schedule = new VisitSchedule("C", 21, 3, 35, 1);
        var at = new DateTimeOffset(2026, 3, 2, 9, 0, 0, TimeSpan.Zero);
        var subject = new Subject("S-1", "CN01", "randomized", "R0001", at, [new("C1", "K1", at), new("C2", "K2", at.AddDays(21))], false, null, null, null, null, null);

        var plan = VisitPlan.Of(subject, schedule);
        Assert.Equal("C2", plan.Last!.Visit);
        Assert.Equal("C3", plan.NextVisit);
        Assert.Equal(at.AddDays(42), plan.NextDue);

        var stopped = VisitPlan.Of(subject with { Status = "discontinued" }, schedule);
        Assert.Null(stopped.NextVisit);
    }

    [Fact]
    public void SiteTime_ShowsTheSitesZoneAndUtcForTheAudit()
    {
        var at = new DateTimeOffset(2026, 12, 1, 20, 30, 0, TimeSpan.Zero);
        Assert.Equal("2026-12-02 04:30 (Asia/Shanghai)", SiteTime.Format(at, "Asia/Shanghai"));
        Assert.Equal("2026-12-01 20:30:00 UTC", SiteTime.Utc(at));
    }

    [Fact]
    public void EntraSignOut_GoesToTheLogoutWithTheLibrarysSignOutState()
    {
        var navigation = Services.GetRequiredService<BunitNavigationManager>();
        new EntraSignIn(null!, new WebSettings(new Uri("https://api.example/"), "https://login.example/t/v2.0", "client", "api://x/.default")).SignOut(navigation);

        var entry = Assert.Single(navigation.History);
        Assert.Equal("authentication/logout", entry.Uri);
        // RemoteAuthenticatorView refuses a logout without this state ("the logout was not initiated from within the page").
        var state = JsonDocument.Parse(entry.Options.HistoryEntryState!).RootElement;
        Assert.Equal("SignOut", state.GetProperty("interaction").GetString());
    }

    [Fact]
    public void DevelopmentSignOut_OpensItsOwnSignOutPage()
    {
        var navigation = Services.GetRequiredService<BunitNavigationManager>();
        using var http = new HttpClient();
        new DevelopmentSignIn(http, JSInterop.JSRuntime).SignOut(navigation);
        Assert.Equal("signout", navigation.History.First().Uri);
        Assert.Null(navigation.History.First().Options.HistoryEntryState);
    }
}

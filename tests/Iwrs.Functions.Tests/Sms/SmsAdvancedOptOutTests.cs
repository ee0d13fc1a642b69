namespace Iwrs.Functions.Tests.Sms;

/// <summary>With Twilio's Advanced Opt-Out answering HELP itself (Sms:TwilioAnswersHelp), a sender never gets two replies.</summary>
public sealed class SmsAdvancedOptOutTests : IAsyncLifetime
{
    private const string Phone = "+15550300001";
    private SmsHarness _h = null!;

    public async Task InitializeAsync() =>
        _h = await SmsHarness.StartAsync([(SmsHarness.Akk, "coord", "site-coordinator", "CN01", Phone)], settings: new() { ["Sms:TwilioAnswersHelp"] = "true" });

    public async Task DisposeAsync() => await _h.DisposeAsync();

    [Fact]
    public async Task Help_TwilioAnswersIt_AppSilentAndCommandsStillListed()
    {
        var help = await _h.Sms(Phone, "help");
        var info = await _h.Sms(Phone, " INFO ");

        Assert.Null(help.Reply);
        Assert.Contains("<Response", help.Raw, StringComparison.Ordinal);
        Assert.Null(info.Reply);
        Assert.Contains("RAND AKK-MCRC S-001 CN01 PIN", await _h.Reply(Phone, "COMMANDS"), StringComparison.Ordinal);
        Assert.Contains("RAND AKK-MCRC S-001 CN01 PIN", await _h.Reply(Phone, "help please"), StringComparison.Ordinal);
    }
}

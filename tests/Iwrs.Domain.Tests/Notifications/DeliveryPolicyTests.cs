using Iwrs.Domain.Notifications;

namespace Iwrs.Domain.Tests.Notifications;

public sealed class DeliveryPolicyTests
{
    private static readonly DateTimeOffset Now = new(2026, 3, 1, 8, 0, 0, TimeSpan.Zero);

    [Theory]
    [InlineData(1, 30)]
    [InlineData(2, 60)]
    [InlineData(3, 120)]
    [InlineData(7, 1920)]
    [InlineData(8, 3600)]
    [InlineData(9, 3600)]
    [InlineData(1000, 3600)]
    [InlineData(int.MaxValue, 3600)]
    public void RetryDelay_NthFailure_DoublesFrom30SecondsUpToOneHourWithQuarterJitter(int failures, int capSeconds)
    {
        var cap = TimeSpan.FromSeconds(capSeconds);

        Assert.Equal(cap, DeliveryPolicy.RetryDelay(failures, 0));
        Assert.Equal(cap * 0.875, DeliveryPolicy.RetryDelay(failures, 0.5));
        var lowest = DeliveryPolicy.RetryDelay(failures, Math.BitDecrement(1.0));
        Assert.True(lowest >= cap * 0.75 && lowest < cap * 0.7501, $"{lowest}");
    }

    [Theory]
    [InlineData(0, 0.0)]
    [InlineData(1, 1.0)]
    [InlineData(1, -0.1)]
    [InlineData(1, double.NaN)]
    public void RetryDelay_OutOfRangeArguments_Throw(int failures, double random) =>
        Assert.Throws<ArgumentOutOfRangeException>(() => DeliveryPolicy.RetryDelay(failures, random));

    [Fact]
    public void Decide_Sent_IsSentWithTheProviderIdAndOneMoreAttempt()
    {
        var d = DeliveryPolicy.Decide(2, new DeliveryOutcome.Sent("SM123"), Now, 0.3);

        Assert.Equal(new DeliveryDecision(DeliveryStatus.Sent, 3, null, null, null, "SM123"), d);
    }

    [Fact]
    public void Decide_Rejected_FailsForGoodWithTheProviderCode()
    {
        var d = DeliveryPolicy.Decide(0, new DeliveryOutcome.Rejected("21211", "Not a valid phone number."), Now, 0.3);

        Assert.Equal(DeliveryStatus.Failed, d.Status);
        Assert.Equal(1, d.Attempts);
        Assert.Null(d.NextAttemptAt);
        Assert.Equal("21211", d.ErrorCode);
        Assert.Equal("21211: Not a valid phone number.", d.LastError);
    }

    [Fact]
    public void Decide_TryLater_PendingAgainAfterTheBackoff()
    {
        var d = DeliveryPolicy.Decide(2, new DeliveryOutcome.TryLater("Twilio answered 500."), Now, 0);

        Assert.Equal(DeliveryStatus.Pending, d.Status);
        Assert.Equal(3, d.Attempts);
        Assert.Equal(Now + TimeSpan.FromMinutes(2), d.NextAttemptAt);
        Assert.Equal("Twilio answered 500.", d.LastError);
        Assert.Null(d.ProviderMessageId);
    }

    [Fact]
    public void Decide_RetryAfterLongerThanBackoff_WaitsAsAsked()
    {
        var d = DeliveryPolicy.Decide(0, new DeliveryOutcome.TryLater("429", TimeSpan.FromMinutes(5)), Now, 0);

        Assert.Equal(Now + TimeSpan.FromMinutes(5), d.NextAttemptAt);
    }

    [Fact]
    public void Decide_RetryAfterShorterThanBackoff_KeepsBackoff()
    {
        var d = DeliveryPolicy.Decide(3, new DeliveryOutcome.TryLater("429", TimeSpan.FromSeconds(1)), Now, 0);

        Assert.Equal(Now + TimeSpan.FromMinutes(4), d.NextAttemptAt);
    }

    [Fact]
    public void Decide_RetryAfterOverAnHour_CappedAtOneHour()
    {
        var d = DeliveryPolicy.Decide(0, new DeliveryOutcome.TryLater("429", TimeSpan.FromDays(2)), Now, 0);

        Assert.Equal(Now + TimeSpan.FromHours(1), d.NextAttemptAt);
    }

    [Fact]
    public void Decide_TryLaterOnTheLastAttempt_GivesUp()
    {
        var beforeLast = DeliveryPolicy.Decide(3, new DeliveryOutcome.TryLater("timeout"), Now, 0, maxAttempts: 5);
        var last = DeliveryPolicy.Decide(4, new DeliveryOutcome.TryLater("timeout"), Now, 0, maxAttempts: 5);

        Assert.Equal(DeliveryStatus.Pending, beforeLast.Status);
        Assert.Equal(DeliveryStatus.Failed, last.Status);
        Assert.Equal(5, last.Attempts);
        Assert.Equal("gave-up", last.ErrorCode);
        Assert.Contains("timeout", last.LastError, StringComparison.Ordinal);
        Assert.Null(last.NextAttemptAt);
    }

    [Fact]
    public void Decide_DefaultMaxAttempts_KeepsTryingForAboutADay()
    {
        var total = TimeSpan.Zero;
        var attempts = 0;
        for (var d = DeliveryPolicy.Decide(0, new DeliveryOutcome.TryLater("down"), Now, 0); d.Status == DeliveryStatus.Pending;
             d = DeliveryPolicy.Decide(d.Attempts, new DeliveryOutcome.TryLater("down"), Now, 0))
        {
            total += d.NextAttemptAt!.Value - Now;
            attempts = d.Attempts;
        }

        Assert.Equal(DeliveryPolicy.DefaultMaxAttempts - 1, attempts);
        Assert.InRange(total, TimeSpan.FromHours(20), TimeSpan.FromHours(28));
    }
}

using Iwrs.Domain.Sms;

namespace Iwrs.Domain.Tests.Sms;

public sealed class DeliveryReportsTests
{
    [Theory]
    [InlineData("queued", DeliveryState.Queued)]
    [InlineData("accepted", DeliveryState.Queued)]
    [InlineData("sending", DeliveryState.Queued)]
    [InlineData("sent", DeliveryState.Sent)]
    [InlineData("Delivered", DeliveryState.Delivered)]
    [InlineData("undelivered", DeliveryState.Undelivered)]
    [InlineData("failed", DeliveryState.Failed)]
    public void TryParse_TwilioStatuses(string status, DeliveryState expected)
    {
        Assert.True(DeliveryReports.TryParse(status, out var state));
        Assert.Equal(expected, state);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("receiving")]
    [InlineData("bogus")]
    public void TryParse_NotAnOutboundStatus_False(string? status) => Assert.False(DeliveryReports.TryParse(status, out _));

    [Theory]
    [InlineData(null, DeliveryState.Queued, true)]
    [InlineData(DeliveryState.Queued, DeliveryState.Sent, true)]
    [InlineData(DeliveryState.Sent, DeliveryState.Delivered, true)]
    [InlineData(DeliveryState.Sent, DeliveryState.Undelivered, true)]
    [InlineData(DeliveryState.Delivered, DeliveryState.Sent, false)]
    [InlineData(DeliveryState.Sent, DeliveryState.Sent, false)]
    [InlineData(DeliveryState.Delivered, DeliveryState.Failed, false)]
    public void Advances_OnlyForward(DeliveryState? current, DeliveryState next, bool expected) =>
        Assert.Equal(expected, DeliveryReports.Advances(current, next));
}

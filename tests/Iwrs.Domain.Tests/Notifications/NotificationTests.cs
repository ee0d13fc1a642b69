using Iwrs.Domain.Access;
using Iwrs.Domain.Notifications;

namespace Iwrs.Domain.Tests.Notifications;

public sealed class NotificationTests
{
    private static Result<Notification> Create(
        string? id = "audit-000000000042-r0", string? recipient = "user-7", string? to = "+8613800138000",
        string? body = "Subject CN01-003 randomized.\nKit 483920.", string? @event = "subject.randomized") =>
        Notification.ToNumber(id, recipient, to, body, @event);

    private static IEnumerable<string> Fields(Result<Notification> result) => result.Error!.Errors!.Select(e => e.Field);

    [Fact]
    public void ToNumber_ValidFields_KeepsThemAsGiven()
    {
        var n = Create().Value;

        Assert.Equal(new Notification("audit-000000000042-r0", "user-7", "+8613800138000", "Subject CN01-003 randomized.\nKit 483920.", "subject.randomized"), n);
    }

    [Fact]
    public void ToNumber_WithRecipientRole_KeepsItAndNamesIt()
    {
        var n = Notification.ToNumber("audit-000000000042-r0", "user-7", "+8613800138000", "Kit 483920.", "shipment.created", Role.Pharmacist).Value;

        Assert.Equal(Role.Pharmacist, n.RecipientRole);
        Assert.Equal("pharmacist", n.RecipientRoleName);
        Assert.Null(Create().Value.RecipientRole);
        Assert.Equal("unknown", Create().Value.RecipientRoleName);
    }

    [Fact]
    public void ToNumber_EverythingWrong_ListsEveryField()
    {
        var result = Notification.ToNumber("a/b", "", "555-1234", "", null);

        Assert.False(result.IsSuccess);
        Assert.Equal("validation-failed", result.Error!.Code);
        Assert.Equal(["id", "recipientUserId", "to", "body", "event"], Fields(result));
    }

    [Theory]
    [InlineData("audit-1.r_0")]
    [InlineData("x")]
    public void ToNumber_IdentifierLikeId_IsValid(string id) => Assert.True(Create(id: id).IsSuccess);

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("audit|1")]
    [InlineData("audit 1")]
    [InlineData("audit#1")]
    [InlineData("é")]
    public void ToNumber_IdNotIdentifierLike_FailsOnId(string? id) => Assert.Equal(["id"], Fields(Create(id: id)));

    [Fact]
    public void ToNumber_IdAtAndOverMaxLength_OnlyLongerFails()
    {
        Assert.True(Create(id: new string('a', Notification.MaxIdLength)).IsSuccess);
        Assert.Equal(["id"], Fields(Create(id: new string('a', Notification.MaxIdLength + 1))));
    }

    [Theory]
    [InlineData("+12025550123")]
    [InlineData("+12345678")]
    [InlineData("+123456789012345")]
    public void ToNumber_E164Number_IsValid(string to) => Assert.True(Create(to: to).IsSuccess);

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("12025550123")]
    [InlineData("+1234567")]
    [InlineData("+1234567890123456")]
    [InlineData("+02025550123")]
    [InlineData("+1 202 555 0123")]
    [InlineData("+1-202-555-0123")]
    [InlineData("+")]
    [InlineData("+١٢٣٤٥٦٧٨٩")]
    public void ToNumber_NotE164_FailsOnTo(string? to) => Assert.Equal(["to"], Fields(Create(to: to)));

    [Fact]
    public void ToNumber_BodyOfMaxLength_IsValidAndOneMoreFails()
    {
        Assert.True(Create(body: new string('x', Notification.MaxBodyLength)).IsSuccess);
        var result = Create(body: new string('x', Notification.MaxBodyLength + 1));
        Assert.Equal(["body"], Fields(result));
        Assert.Contains("1601", result.Error!.Errors![0].Reason, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("")]
    [InlineData("line\r\nbreak")]
    [InlineData("tab\there")]
    [InlineData("nul\0")]
    [InlineData("esc\u001b[31m")]
    [InlineData("c1\u0085")]
    [InlineData("del\u007f")]
    public void ToNumber_BodyEmptyOrWithControlCharacters_FailsOnBody(string body) => Assert.Equal(["body"], Fields(Create(body: body)));

    [Fact]
    public void ToNumber_BodyWithUnpairedSurrogate_FailsOnBody()
    {
        // Built at run time: attribute data would not carry an unpaired surrogate through unchanged.
        var body = "half " + (char)0xD83D + " of an emoji";

        Assert.Equal(["body"], Fields(Create(body: body)));
    }

    [Fact]
    public void ToNumber_BodyWithNewlinesAndNonAscii_IsValid()
    {
        Assert.True(Create(body: "Kit 12\nVisit C2 · 第2周期 😀").IsSuccess);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("subject randomized")]
    [InlineData("a/b")]
    public void ToNumber_BadRecipientOrEvent_FailsOnThatField(string? value)
    {
        Assert.Equal(["recipientUserId"], Fields(Create(recipient: value)));
        Assert.Equal(["event"], Fields(Create(@event: value)));
    }

    [Fact]
    public void ToOwnPhone_NoNumber_GoesToTheVerifiedPhoneAndStillChecksEveryOtherField()
    {
        var n = Notification.ToOwnPhone("audit-000000000042-0", "depot-1", "Pick list.", "shipment.created", Role.DepotManager).Value;

        Assert.Null(n.To);
        Assert.True(n.ToVerifiedPhone);
        Assert.False(Create().Value.ToVerifiedPhone);
        Assert.Equal(["id", "recipientUserId", "body", "event"], Fields(Notification.ToOwnPhone("a/b", "", "", null)));
    }
}

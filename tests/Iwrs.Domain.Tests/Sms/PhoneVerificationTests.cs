using Iwrs.Domain.Sms;
using Iwrs.Testing;

namespace Iwrs.Domain.Tests.Sms;

public sealed class PhoneVerificationTests
{
    private static readonly DateTimeOffset Now = new(2026, 3, 2, 8, 0, 0, TimeSpan.Zero);
    private const string Phone = "+15550001111";
    private static readonly byte[] Salt = [.. Enumerable.Range(1, PhoneVerification.SaltBytes).Select(i => (byte)i)];

    private static PhoneRegistration Started(string code, PhoneRegistration? state = null, DateTimeOffset? at = null) =>
        PhoneVerification.Start(state ?? PhoneRegistration.None, Phone, code, Salt, at ?? Now).Value;

    [Fact]
    public void NewCode_SixDigits_VaryWithTheRandomSource()
    {
        var random = new SeededRandom(7);
        var codes = Enumerable.Range(0, 200).Select(_ => PhoneVerification.NewCode(random)).ToList();
        Assert.All(codes, c => Assert.Matches("^[0-9]{6}$", c));
        Assert.True(codes.Distinct().Count() > 195);
    }

    [Fact]
    public void Start_KeepsOnlyASaltedHash_NeverTheCode()
    {
        var state = Started("483920");
        Assert.Equal(Phone, state.Pending!.Phone);
        Assert.NotEqual("483920"u8.ToArray(), state.Pending.CodeHash);
        Assert.Equal(32, state.Pending.CodeHash.Length);
        Assert.Null(state.Phone);
    }

    [Fact]
    public void Verify_RightCodeInTime_PhoneIsTheUsers_AndTheCodeIsGone()
    {
        var (outcome, state) = PhoneVerification.Verify(Started("483920"), "483920", Now.AddMinutes(10));
        Assert.Equal(PhoneCodeOutcome.Verified, outcome);
        Assert.Equal((Phone, (DateTimeOffset?)Now.AddMinutes(10), (PendingPhone?)null), (state.Phone, state.VerifiedAt, state.Pending));
        Assert.Equal(PhoneCodeOutcome.NoneWaiting, PhoneVerification.Verify(state, "483920", Now.AddMinutes(10)).Outcome);
    }

    [Fact]
    public void Verify_Late_ExpiredEvenWithTheRightCode()
    {
        var (outcome, state) = PhoneVerification.Verify(Started("483920"), "483920", Now + PhoneVerification.Lifetime + TimeSpan.FromTicks(1));
        Assert.Equal(PhoneCodeOutcome.Expired, outcome);
        Assert.Null(state.Pending);
        Assert.Null(state.Phone);
    }

    [Fact]
    public void Verify_FiveWrong_VoidsTheCode_TheRightOneThenDoesNothing()
    {
        var state = Started("483920");
        for (var i = 1; i < PhoneVerification.MaxAttempts; i++)
        {
            (var outcome, state) = PhoneVerification.Verify(state, "000000", Now);
            Assert.Equal((PhoneCodeOutcome.Wrong, i), (outcome, state.Pending!.Attempts));
        }

        (var last, state) = PhoneVerification.Verify(state, null, Now);
        Assert.Equal(PhoneCodeOutcome.Voided, last);
        Assert.Equal(PhoneCodeOutcome.NoneWaiting, PhoneVerification.Verify(state, "483920", Now).Outcome);
        Assert.Null(state.Phone);
    }

    [Fact]
    public void Start_FiveCodesADay_SixthRefused_NextDayAllowed()
    {
        var state = PhoneRegistration.None;
        for (var i = 0; i < PhoneVerification.MaxCodesPerWindow; i++)
        {
            state = Started("11111" + i, state, Now.AddHours(i));
        }

        var sixth = PhoneVerification.Start(state, Phone, "999999", Salt, Now.AddHours(23));
        Assert.Equal("sms-phone-codes-exhausted", sixth.Error!.Code);
        Assert.True(PhoneVerification.Start(state, Phone, "999999", Salt, Now + PhoneVerification.Window).IsSuccess);
    }

    [Fact]
    public void Message_CarriesTheCodeAndNoStudyOrRole()
    {
        var text = PhoneVerification.Message("483920");
        Assert.Contains("483920", text, StringComparison.Ordinal);
        Assert.DoesNotContain("MCRC", text, StringComparison.Ordinal);
        Assert.True(text.Length <= 160);
    }
}

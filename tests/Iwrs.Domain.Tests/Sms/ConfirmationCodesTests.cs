using Iwrs.Domain.Sms;
using Iwrs.Domain.Supply;
using Iwrs.Testing;

namespace Iwrs.Domain.Tests.Sms;

public sealed class ConfirmationCodesTests
{
    private static readonly DateTimeOffset Now = new(2026, 3, 2, 8, 0, 0, TimeSpan.Zero);
    private const string Phone = "+15550001111";
    private const string Sid = "SM00000000000000000000000000000001";

    private static PendingConfirmation Pending() =>
        ConfirmationCodes.Create("K7M4PX", Phone, "coord", "LJ-MCRC", "S-001", "CN01", new Dictionary<string, string>(), Now);

    [Fact]
    public void New_SixUnambiguousCharacters_VaryWithTheRandomSource()
    {
        var random = new SeededRandom(1);
        var codes = Enumerable.Range(0, 200).Select(_ => ConfirmationCodes.New(random)).ToList();

        Assert.All(codes, c => Assert.True(ConfirmationCodes.IsCode(c), c));
        Assert.All(codes, c => Assert.DoesNotContain(c, ch => ch is '0' or 'O' or '1' or 'I'));
        Assert.True(codes.Distinct().Count() > 195);
    }

    /// <summary>Draws the characters of <paramref name="text"/>, in order, from <see cref="ConfirmationCodes.Alphabet"/>.</summary>
    private sealed class Scripted(string text) : IRandomSource
    {
        private int _next;

        public int Next(int maxExclusive) => ConfirmationCodes.Alphabet.IndexOf(text[_next++ % text.Length], StringComparison.Ordinal);
    }

    /// <summary>The 6-letter keywords that the code alphabet can spell (no O, no I): CANCEL and STATUS.</summary>
    [Theory]
    [InlineData("CANCEL")]
    [InlineData("STATUS")]
    public void New_AKeywordDrawn_IsDrawnAgain(string keyword)
    {
        Assert.Equal("K7M4PX", ConfirmationCodes.New(new Scripted(keyword + "K7M4PX")));
    }

    [Theory]
    [InlineData("cancel")]
    [InlineData("Status")]
    public void IsCode_AKeyword_IsNoCode(string word)
    {
        Assert.True(word.All(c => ConfirmationCodes.Alphabet.Contains(char.ToUpperInvariant(c), StringComparison.Ordinal)));
        Assert.False(ConfirmationCodes.IsCode(word));
        Assert.IsNotType<SmsCommand.Confirm>(SmsCommands.Parse(word));
    }

    [Theory]
    [InlineData("k7m4px", true)]
    [InlineData("K7M4P", false)]
    [InlineData("K7M4P0", false)]
    [InlineData("K7M4PXX", false)]
    public void IsCode_ByAlphabetAndLength(string word, bool expected) => Assert.Equal(expected, ConfirmationCodes.IsCode(word));

    [Fact]
    public void Check_WithinFiveMinutes_Go()
    {
        Assert.Equal(ConfirmationCheck.Go, ConfirmationCodes.Check(Pending(), Phone, Sid, Now + TimeSpan.FromMinutes(5)));
    }

    [Fact]
    public void Check_AfterFiveMinutes_Expired()
    {
        Assert.Equal(ConfirmationCheck.Expired, ConfirmationCodes.Check(Pending(), Phone, Sid, Now + TimeSpan.FromMinutes(5) + TimeSpan.FromTicks(1)));
    }

    [Fact]
    public void Check_OtherPhone_WrongPhone()
    {
        Assert.Equal(ConfirmationCheck.WrongPhone, ConfirmationCodes.Check(Pending(), "+15550002222", Sid, Now));
    }

    [Fact]
    public void Check_UsedByAnotherMessage_UsedEvenInTime_ButTheSameMessageMayFinish()
    {
        var used = Pending() with { UsedBy = Sid };

        Assert.Equal(ConfirmationCheck.Used, ConfirmationCodes.Check(used, Phone, "SM00000000000000000000000000000002", Now));
        Assert.Equal(ConfirmationCheck.Go, ConfirmationCodes.Check(used, Phone, Sid, Now));
    }
}

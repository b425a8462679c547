namespace ConsentHub.Preferences;

/// <summary>
/// The preference centre's words in the five languages of the validation pages. <c>{minutes}</c> stands for a number
/// the page fills in. The consent and channel headings, statuses and channel names are the validation pages' own
/// (<see cref="Validation.DefaultTexts"/>), so a person reads the same words in the email and here.
/// </summary>
public sealed record PreferenceTexts
{
    public required string Language { get; init; }
    /// <summary>The language's own name, for the language links.</summary>
    public required string LanguageName { get; init; }
    public required string Title { get; init; }
    public required string RequestIntro { get; init; }
    public required string EmailLabel { get; init; }
    public required string EmailHint { get; init; }
    public required string EmailInvalid { get; init; }
    public required string SendLabel { get; init; }
    public required string SentHeading { get; init; }
    public required string SentBody { get; init; }
    public required string TooManyHeading { get; init; }
    public required string TooManyBody { get; init; }
    public required string MailSubject { get; init; }
    public required string MailIntro { get; init; }
    public required string MailButton { get; init; }
    public required string MailIgnore { get; init; }
    /// <summary>The line at the foot of the hub's other emails.</summary>
    public required string FooterLink { get; init; }
    public required string OpenHeading { get; init; }
    public required string OpenBody { get; init; }
    public required string OpenLabel { get; init; }
    public required string LinkGoneHeading { get; init; }
    public required string LinkGoneBody { get; init; }
    public required string SessionEndedHeading { get; init; }
    public required string SessionEndedBody { get; init; }
    public required string ChoicesIntro { get; init; }
    public required string NothingHeld { get; init; }
    public required string SaveLabel { get; init; }
    public required string WithdrawAllHeading { get; init; }
    public required string WithdrawAllBody { get; init; }
    public required string WithdrawAllLabel { get; init; }
    public required string Saved { get; init; }
    public required string Unchanged { get; init; }
    public required string NotSaved { get; init; }
    public required string FormStale { get; init; }
    public required string SignOutLabel { get; init; }
    public required string LanguageHeading { get; init; }

    public const string Fallback = "en";

    static readonly Dictionary<string, PreferenceTexts> ByLanguage = new(StringComparer.Ordinal)
    {
        ["en"] = new()
        {
            Language = "en", LanguageName = "English",
            Title = "Your choices",
            RequestIntro = "See and change how you may be contacted, for every brand that knows your email address. Enter the address and we will email you a link.",
            EmailLabel = "Email address",
            EmailHint = "We send the link to this address only. It proves that the address is yours; no account or password is needed.",
            EmailInvalid = "Enter an email address like name@example.com.",
            SendLabel = "Email me a link",
            SentHeading = "Check your inbox",
            SentBody = "If we hold choices for this address, a link to them is on its way. It works once, for {minutes} minutes. Nothing arrived? Look in your spam folder, or ask again.",
            TooManyHeading = "Please wait a moment",
            TooManyBody = "Many links were asked for from here in a short time. Please try again later.",
            MailSubject = "Your link to your choices",
            MailIntro = "Someone, hopefully you, asked for a link to see and change how you may be contacted. The link works once, for {minutes} minutes.",
            MailButton = "Show my choices",
            MailIgnore = "Did not ask for this? Then there is nothing to do: without the link, nobody can see or change your choices.",
            FooterLink = "See and change all your choices in one place",
            OpenHeading = "Your choices are one step away",
            OpenBody = "Press the button to see and change how you may be contacted.",
            OpenLabel = "Show my choices",
            LinkGoneHeading = "This link can no longer be used",
            LinkGoneBody = "Links work for a limited time, and a link we send on request works only once. Ask for a new link below.",
            SessionEndedHeading = "Please ask for a new link",
            SessionEndedBody = "To protect your choices, this page stays open for {minutes} minutes after you open a link. Ask for a new link below.",
            ChoicesIntro = "This is how each brand that knows your email address may contact you. Change anything and save: the change reaches every system that holds your details.",
            NothingHeld = "We hold no choices for this address.",
            SaveLabel = "Save my choices",
            WithdrawAllHeading = "Withdraw everything",
            WithdrawAllBody = "Withdraws every consent and every way of contacting you shown on this page, for every brand, in one step.",
            WithdrawAllLabel = "Withdraw everything",
            Saved = "Your choices are saved. Every system that holds your details is being updated.",
            Unchanged = "Nothing was changed, so there was nothing to save.",
            NotSaved = "Some of your choices could not be saved. Please try again.",
            FormStale = "The page had expired, so nothing was saved. Please make your choices again.",
            SignOutLabel = "Close my choices",
            LanguageHeading = "Language",
        },
        ["de"] = new()
        {
            Language = "de", LanguageName = "Deutsch",
            Title = "Ihre Auswahl",
            RequestIntro = "Sehen und ändern Sie, wie Sie kontaktiert werden dürfen, für jede Marke, die Ihre E-Mail-Adresse kennt. Geben Sie die Adresse ein, und wir senden Ihnen einen Link.",
            EmailLabel = "E-Mail-Adresse",
            EmailHint = "Wir senden den Link nur an diese Adresse. Er belegt, dass die Adresse Ihnen gehört; Sie brauchen kein Konto und kein Passwort.",
            EmailInvalid = "Geben Sie eine E-Mail-Adresse wie name@example.com ein.",
            SendLabel = "Link per E-Mail senden",
            SentHeading = "Sehen Sie in Ihr Postfach",
            SentBody = "Wenn wir für diese Adresse eine Auswahl gespeichert haben, ist ein Link dorthin unterwegs. Er funktioniert einmal, {minutes} Minuten lang. Nichts angekommen? Sehen Sie im Spam-Ordner nach, oder fordern Sie ihn erneut an.",
            TooManyHeading = "Bitte warten Sie einen Moment",
            TooManyBody = "Von hier wurden in kurzer Zeit viele Links angefordert. Bitte versuchen Sie es später erneut.",
            MailSubject = "Ihr Link zu Ihrer Auswahl",
            MailIntro = "Jemand, hoffentlich Sie, hat einen Link angefordert, um zu sehen und zu ändern, wie Sie kontaktiert werden dürfen. Der Link funktioniert einmal, {minutes} Minuten lang.",
            MailButton = "Meine Auswahl anzeigen",
            MailIgnore = "Sie haben das nicht angefordert? Dann müssen Sie nichts tun: Ohne den Link kann niemand Ihre Auswahl sehen oder ändern.",
            FooterLink = "Ihre gesamte Auswahl an einem Ort ansehen und ändern",
            OpenHeading = "Ihre Auswahl ist nur einen Schritt entfernt",
            OpenBody = "Drücken Sie die Schaltfläche, um zu sehen und zu ändern, wie Sie kontaktiert werden dürfen.",
            OpenLabel = "Meine Auswahl anzeigen",
            LinkGoneHeading = "Dieser Link kann nicht mehr verwendet werden",
            LinkGoneBody = "Links gelten nur eine begrenzte Zeit, und ein angeforderter Link funktioniert nur einmal. Fordern Sie unten einen neuen Link an.",
            SessionEndedHeading = "Bitte fordern Sie einen neuen Link an",
            SessionEndedBody = "Zum Schutz Ihrer Auswahl bleibt diese Seite nach dem Öffnen eines Links {minutes} Minuten lang geöffnet. Fordern Sie unten einen neuen Link an.",
            ChoicesIntro = "So darf jede Marke, die Ihre E-Mail-Adresse kennt, Sie kontaktieren. Ändern Sie, was Sie möchten, und speichern Sie: Die Änderung erreicht jedes System, das Ihre Daten hat.",
            NothingHeld = "Für diese Adresse haben wir keine Auswahl gespeichert.",
            SaveLabel = "Auswahl speichern",
            WithdrawAllHeading = "Alles widerrufen",
            WithdrawAllBody = "Widerruft jede Einwilligung und jeden Kontaktweg auf dieser Seite, für jede Marke, in einem Schritt.",
            WithdrawAllLabel = "Alles widerrufen",
            Saved = "Ihre Auswahl ist gespeichert. Jedes System, das Ihre Daten hat, wird aktualisiert.",
            Unchanged = "Sie haben nichts geändert, daher gab es nichts zu speichern.",
            NotSaved = "Ein Teil Ihrer Auswahl konnte nicht gespeichert werden. Bitte versuchen Sie es erneut.",
            FormStale = "Die Seite war abgelaufen, daher wurde nichts gespeichert. Bitte treffen Sie Ihre Auswahl erneut.",
            SignOutLabel = "Auswahl schließen",
            LanguageHeading = "Sprache",
        },
        ["nl"] = new()
        {
            Language = "nl", LanguageName = "Nederlands",
            Title = "Uw keuzes",
            RequestIntro = "Bekijk en wijzig hoe er contact met u mag worden opgenomen, voor elk merk dat uw e-mailadres kent. Vul het adres in en we mailen u een link.",
            EmailLabel = "E-mailadres",
            EmailHint = "We sturen de link alleen naar dit adres. Hij bewijst dat het adres van u is; u heeft geen account of wachtwoord nodig.",
            EmailInvalid = "Vul een e-mailadres in zoals naam@example.com.",
            SendLabel = "Mail mij een link",
            SentHeading = "Kijk in uw inbox",
            SentBody = "Als we keuzes voor dit adres bewaren, is er een link naar onderweg. Hij werkt één keer, {minutes} minuten lang. Niets ontvangen? Kijk in uw spammap, of vraag opnieuw.",
            TooManyHeading = "Een ogenblik geduld",
            TooManyBody = "Vanaf hier zijn in korte tijd veel links aangevraagd. Probeer het later opnieuw.",
            MailSubject = "Uw link naar uw keuzes",
            MailIntro = "Iemand, hopelijk u, heeft een link aangevraagd om te bekijken en te wijzigen hoe er contact met u mag worden opgenomen. De link werkt één keer, {minutes} minuten lang.",
            MailButton = "Toon mijn keuzes",
            MailIgnore = "Niet aangevraagd? Dan hoeft u niets te doen: zonder de link kan niemand uw keuzes zien of wijzigen.",
            FooterLink = "Bekijk en wijzig al uw keuzes op één plek",
            OpenHeading = "Uw keuzes zijn één stap verwijderd",
            OpenBody = "Druk op de knop om te bekijken en te wijzigen hoe er contact met u mag worden opgenomen.",
            OpenLabel = "Toon mijn keuzes",
            LinkGoneHeading = "Deze link kan niet meer worden gebruikt",
            LinkGoneBody = "Links werken een beperkte tijd, en een aangevraagde link werkt maar één keer. Vraag hieronder een nieuwe link aan.",
            SessionEndedHeading = "Vraag een nieuwe link aan",
            SessionEndedBody = "Om uw keuzes te beschermen blijft deze pagina {minutes} minuten open nadat u een link opent. Vraag hieronder een nieuwe link aan.",
            ChoicesIntro = "Zo mag elk merk dat uw e-mailadres kent contact met u opnemen. Wijzig wat u wilt en sla op: de wijziging bereikt elk systeem dat uw gegevens heeft.",
            NothingHeld = "We bewaren geen keuzes voor dit adres.",
            SaveLabel = "Mijn keuzes opslaan",
            WithdrawAllHeading = "Alles intrekken",
            WithdrawAllBody = "Trekt elke toestemming en elke manier van contact op deze pagina in, voor elk merk, in één stap.",
            WithdrawAllLabel = "Alles intrekken",
            Saved = "Uw keuzes zijn opgeslagen. Elk systeem dat uw gegevens heeft, wordt bijgewerkt.",
            Unchanged = "U heeft niets gewijzigd, dus er was niets op te slaan.",
            NotSaved = "Een deel van uw keuzes kon niet worden opgeslagen. Probeer het opnieuw.",
            FormStale = "De pagina was verlopen, dus er is niets opgeslagen. Maak uw keuzes opnieuw.",
            SignOutLabel = "Mijn keuzes sluiten",
            LanguageHeading = "Taal",
        },
        ["fr"] = new()
        {
            Language = "fr", LanguageName = "Français",
            Title = "Vos choix",
            RequestIntro = "Consultez et modifiez la manière dont vous pouvez être contacté, pour chaque marque qui connaît votre adresse e-mail. Saisissez l’adresse et nous vous enverrons un lien.",
            EmailLabel = "Adresse e-mail",
            EmailHint = "Nous envoyons le lien à cette adresse uniquement. Il prouve que l’adresse est la vôtre\u00a0; aucun compte ni mot de passe n’est nécessaire.",
            EmailInvalid = "Saisissez une adresse e-mail comme nom@example.com.",
            SendLabel = "M’envoyer un lien",
            SentHeading = "Consultez votre boîte de réception",
            SentBody = "Si nous conservons des choix pour cette adresse, un lien vers eux est en route. Il fonctionne une fois, pendant {minutes}\u00a0minutes. Rien reçu\u00a0? Regardez dans vos courriers indésirables, ou demandez-le à nouveau.",
            TooManyHeading = "Veuillez patienter un instant",
            TooManyBody = "De nombreux liens ont été demandés d’ici en peu de temps. Veuillez réessayer plus tard.",
            MailSubject = "Votre lien vers vos choix",
            MailIntro = "Quelqu’un, vous sans doute, a demandé un lien pour consulter et modifier la manière dont vous pouvez être contacté. Le lien fonctionne une fois, pendant {minutes}\u00a0minutes.",
            MailButton = "Afficher mes choix",
            MailIgnore = "Vous n’avez rien demandé\u00a0? Vous n’avez rien à faire\u00a0: sans le lien, personne ne peut voir ni modifier vos choix.",
            FooterLink = "Consulter et modifier tous vos choix au même endroit",
            OpenHeading = "Vos choix sont à un clic",
            OpenBody = "Appuyez sur le bouton pour consulter et modifier la manière dont vous pouvez être contacté.",
            OpenLabel = "Afficher mes choix",
            LinkGoneHeading = "Ce lien ne peut plus être utilisé",
            LinkGoneBody = "Les liens fonctionnent pendant une durée limitée, et un lien demandé ne fonctionne qu’une fois. Demandez un nouveau lien ci-dessous.",
            SessionEndedHeading = "Veuillez demander un nouveau lien",
            SessionEndedBody = "Pour protéger vos choix, cette page reste ouverte {minutes}\u00a0minutes après l’ouverture d’un lien. Demandez un nouveau lien ci-dessous.",
            ChoicesIntro = "Voici comment chaque marque qui connaît votre adresse e-mail peut vous contacter. Modifiez ce que vous voulez et enregistrez\u00a0: la modification parvient à chaque système qui détient vos données.",
            NothingHeld = "Nous ne conservons aucun choix pour cette adresse.",
            SaveLabel = "Enregistrer mes choix",
            WithdrawAllHeading = "Tout retirer",
            WithdrawAllBody = "Retire chaque consentement et chaque moyen de vous contacter affichés sur cette page, pour chaque marque, en une seule fois.",
            WithdrawAllLabel = "Tout retirer",
            Saved = "Vos choix sont enregistrés. Chaque système qui détient vos données est en cours de mise à jour.",
            Unchanged = "Vous n’avez rien modifié, il n’y avait donc rien à enregistrer.",
            NotSaved = "Une partie de vos choix n’a pas pu être enregistrée. Veuillez réessayer.",
            FormStale = "La page avait expiré, rien n’a donc été enregistré. Veuillez refaire vos choix.",
            SignOutLabel = "Fermer mes choix",
            LanguageHeading = "Langue",
        },
        ["it"] = new()
        {
            Language = "it", LanguageName = "Italiano",
            Title = "Le tue scelte",
            RequestIntro = "Vedi e modifica come puoi essere contattato, per ogni marchio che conosce il tuo indirizzo e-mail. Inserisci l’indirizzo e ti invieremo un link.",
            EmailLabel = "Indirizzo e-mail",
            EmailHint = "Inviamo il link solo a questo indirizzo. Dimostra che l’indirizzo è tuo; non servono account né password.",
            EmailInvalid = "Inserisci un indirizzo e-mail come nome@example.com.",
            SendLabel = "Inviami un link",
            SentHeading = "Controlla la tua casella di posta",
            SentBody = "Se conserviamo delle scelte per questo indirizzo, un link è in arrivo. Funziona una volta, per {minutes} minuti. Non è arrivato nulla? Controlla la cartella spam, oppure richiedilo di nuovo.",
            TooManyHeading = "Attendi un momento",
            TooManyBody = "Da qui sono stati richiesti molti link in poco tempo. Riprova più tardi.",
            MailSubject = "Il tuo link alle tue scelte",
            MailIntro = "Qualcuno, speriamo tu, ha chiesto un link per vedere e modificare come puoi essere contattato. Il link funziona una volta, per {minutes} minuti.",
            MailButton = "Mostra le mie scelte",
            MailIgnore = "Non l’hai chiesto tu? Non devi fare nulla: senza il link nessuno può vedere o modificare le tue scelte.",
            FooterLink = "Vedi e modifica tutte le tue scelte in un unico posto",
            OpenHeading = "Le tue scelte sono a un passo",
            OpenBody = "Premi il pulsante per vedere e modificare come puoi essere contattato.",
            OpenLabel = "Mostra le mie scelte",
            LinkGoneHeading = "Questo link non può più essere usato",
            LinkGoneBody = "I link funzionano per un tempo limitato, e un link richiesto funziona una sola volta. Richiedi un nuovo link qui sotto.",
            SessionEndedHeading = "Richiedi un nuovo link",
            SessionEndedBody = "Per proteggere le tue scelte, questa pagina resta aperta {minutes} minuti dopo l’apertura di un link. Richiedi un nuovo link qui sotto.",
            ChoicesIntro = "Ecco come ogni marchio che conosce il tuo indirizzo e-mail può contattarti. Modifica ciò che vuoi e salva: la modifica raggiunge ogni sistema che conserva i tuoi dati.",
            NothingHeld = "Non conserviamo scelte per questo indirizzo.",
            SaveLabel = "Salva le mie scelte",
            WithdrawAllHeading = "Revoca tutto",
            WithdrawAllBody = "Revoca ogni consenso e ogni modo di contattarti mostrato in questa pagina, per ogni marchio, in un solo passaggio.",
            WithdrawAllLabel = "Revoca tutto",
            Saved = "Le tue scelte sono salvate. Ogni sistema che conserva i tuoi dati viene aggiornato.",
            Unchanged = "Non hai modificato nulla, quindi non c’era nulla da salvare.",
            NotSaved = "Una parte delle tue scelte non è stata salvata. Riprova.",
            FormStale = "La pagina era scaduta, quindi non è stato salvato nulla. Rifai le tue scelte.",
            SignOutLabel = "Chiudi le mie scelte",
            LanguageHeading = "Lingua",
        },
    };

    public static IReadOnlyList<PreferenceTexts> All { get; } = [.. ByLanguage.Values];

    /// <summary>The words for a language tag (<c>nl-BE</c> → Dutch), by its primary subtag; English when unknown.</summary>
    public static PreferenceTexts For(string? language) => ByLanguage[Resolve(language)];

    /// <summary>The supported language a tag names, or null: the validation pages' languages, which these words match.</summary>
    public static string? Supported(string? language) => Validation.DefaultTexts.Supported(language) is { } known && ByLanguage.ContainsKey(known) ? known : null;

    static string Resolve(string? language) => Supported(language) ?? Fallback;

    /// <summary>The first supported language of an Accept-Language header, in the order of its weights; null when none.</summary>
    public static string? FromAcceptLanguage(string? header)
    {
        if (string.IsNullOrWhiteSpace(header)) return null;
        return header.Split(',')
            .Select((part, position) =>
            {
                var pieces = part.Split(';');
                var weight = 1.0;
                foreach (var parameter in pieces.Skip(1))
                    if (parameter.Trim() is var p && p.StartsWith("q=", StringComparison.Ordinal)
                        && double.TryParse(p[2..], System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var q))
                        weight = q;
                return (Tag: pieces[0].Trim(), Weight: weight, Position: position);
            })
            .Where(t => t.Weight > 0)
            .OrderByDescending(t => t.Weight).ThenBy(t => t.Position)
            .Select(t => Supported(t.Tag)).FirstOrDefault(l => l is not null);
    }

    public string WithMinutes(string text, int minutes) =>
        text.Replace("{minutes}", minutes.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal);
}

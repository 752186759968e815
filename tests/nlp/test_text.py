from sodam.nlp.text import char_ngrams, english_tokens, morphemes, normalize, stem, tokens


def test_normalize_folds_width_case_space_and_noise():
    assert normalize("  ＲＥＦＵＮＤ   please!!!  ") == "refund please!"
    assert normalize("환불해주세요ㅠㅠㅠ ㅋㅋ") == "환불해주세요"
    assert normalize("감사합니다~~ ^^") == "감사합니다"
    assert normalize("좋아요ㅋㅋㅋㅋ", keep_emoticons=True) == "좋아요ㅋㅋ"


def test_english_stemming_meets_inflections():
    assert stem("refunds") == stem("refunded") == stem("refunding") == "refund"
    assert stem("charge") == stem("charged") == stem("charging")
    assert english_tokens("My card was DECLINED twice") == ["my", "card", "was", "declin", "twic"]


def test_korean_content_morphemes_ignore_spacing():
    spaced = morphemes("배송 기간이 얼마나 걸리나요")
    unspaced = morphemes("배송기간얼마나걸려요")
    assert {"배송", "기간", "걸리"} <= set(spaced) & set(unspaced)
    assert "이" not in spaced  # particles are not content


def test_tokens_picks_analyser_by_script():
    assert tokens("Where is my refund?") == tokens("where IS my refunds")[:3] + ["refund"]
    assert "환불" in tokens("환불 부탁드려요")


def test_char_ngrams_cross_removed_spaces():
    assert set(char_ngrams("배송 기간")) == set(char_ngrams("배송기간"))
    assert "주세" in set(char_ngrams("환불해주세여")) & set(char_ngrams("환불해 주세요"))


def test_customer_query_spaces_long_unspaced_runs_only():
    from sodam.nlp.text import customer_query

    assert (
        customer_query("어제주문했는데보통며칠이면받을수있나여")
        == "어제 주문했는데 보통 며칠이면 받을 수 있나요"
    )
    # A short run is left as typed (Kiwi would split a word it does not know: "환볼" -> "환 볼").
    assert customer_query("환볼 언제되나요") == "환볼 언제되나요 기간"  # 기간: the lexicon's word
    assert customer_query("택 떼버렸는데 사이즈 교환 되나요") == "택 떼버렸는데 사이즈 교환 되나요"


def test_customer_query_spells_out_chat_endings_and_clipped_words():
    from sodam.nlp.text import customer_query

    assert customer_query("비번 바꾸고 싶어여 ㅠㅠ") == "비밀번호 바꾸고 싶어요"
    assert customer_query("배송 언제와여??") == "배송 언제와요? 기간"
    assert customer_query("현영 신청 되나염") == "현금영수증 신청 되나요"
    assert customer_query("환불 됬나요") == "환불 됐나요"
    # Words that merely end in 여/염/용 keep their meaning.
    assert customer_query("대여 가능한가여") == "대여 가능한가요"
    assert customer_query("감염 이용 참여") == "감염 이용 참여"
    assert customer_query("Refund PLEASE!!") == "refund please!"
    # A customer's words for a help center's term are added, never replacing theirs.
    assert customer_query("돈 돌려받을 수 있어요?") == "돈 돌려받을 수 있어요? 환불"
    assert customer_query("맘에 안들어서 돌려보내고 싶어요") == "맘에 안들어서 돌려보내고 싶어요 반품 마음에"
    assert customer_query("고딩도 공짜로 써볼수 있나요") == "고등학생도 공짜로 써볼수 있나요 무료"
    assert customer_query("환불 돈 돌려받기") == "환불 돈 돌려받기"  # the term is there already
    # Loanwords and everyday words for a help center's nouns.
    assert customer_query("마일리지 유효기간 있어요?") == "마일리지 유효기간 있어요? 적립금"
    assert customer_query("구글 OTP 연동 돼요?") == "구글 otp 연동 돼요? 인증"
    assert customer_query("지퍼가 고장난 채로 왔어요") == "지퍼가 고장난 채로 왔어요 불량"
    assert customer_query("한치수 큰 사이즈로 바꿀수있나요") == "한치수 큰 사이즈로 바꿀수있나요 교환"
    assert customer_query("정기결제 그만하고 싶어요") == "정기결제 그만하고 싶어요 해지"
    assert customer_query("그냥 물릴래요") == "그냥 물릴래요 반품"
    assert (
        customer_query("배송지 바꿀 수 있나요") == "배송지 바꿀 수 있나요"
    )  # no size or colour: not an exchange


def test_customer_query_general_help_desk_words():
    from sodam.nlp.text import customer_query

    # Words customers of any kind of business use for a help center's nouns (sixth pass).
    assert customer_query("취소했는데 돈이 아직 안 들어왔어요") == "취소했는데 돈이 아직 안 들어왔어요 환불"
    assert customer_query("결제 금액은 언제 돌아와요?") == "결제 금액은 언제 돌아와요? 환불"
    assert customer_query("아이디 삭제 해주세요") == "아이디 삭제 해주세요 탈퇴"
    assert customer_query("별점 잘못 눌렀어요") == "별점 잘못 눌렀어요 리뷰"
    assert customer_query("동 호수를 틀리게 썼어요") == "동 호수를 틀리게 썼어요 주소 변경"
    assert customer_query("동시재생 되나요") == "동시재생 되나요 동시에 여러 기기"
    assert customer_query("영상이 계속 로딩만 돼요") == "영상이 계속 로딩만 돼요 오류"
    assert customer_query("리뷰 쓰면 포인트 주나요") == "리뷰 쓰면 포인트 주나요"  # nothing to add


def test_customer_query_adds_the_lexicons_help_center_nouns():
    from sodam.nlp.text import customer_query

    assert customer_query("폰 잃어버렸어요") == "폰 잃어버렸어요 분실"
    assert customer_query("통신사 갈아타려고요") == "통신사 갈아타려고요 번호이동"
    assert customer_query("비번 까먹었어여") == "비밀번호 까먹었어요 찾기"
    assert customer_query("구독 해제 어떻해") == "구독 해제 어떻해 해지 어떻게"
    # A noun the question already holds is not added twice; chit-chat gains nothing.
    assert customer_query("분실 신고 잃어버렸어요") == "분실 신고 잃어버렸어요"
    assert customer_query("오늘 날씨 어때") == "오늘 날씨 어때"
    assert customer_query("방문 예약 하고 싶어요") == "방문 예약 하고 싶어요"  # not 방 → 객실


def test_asked_words_are_the_questions_own_nouns_and_verbs():
    from sodam.nlp.text import asked_words, customer_query

    assert asked_words("제 강의도 올려서 팔 수 있나요") == ["강의", "올리", "팔"]
    assert asked_words("강사로 지원하고 싶어요 어떻게 해요") == ["강사", "지원"]
    assert asked_words("언제 돼요??") == [] and asked_words("refund please") == []
    # without the expansions: the expanded query's first words
    assert customer_query("돈 돌려받을 수 있어여?", expand=False) == "돈 돌려받을 수 있어요?"
    assert customer_query("비번 바꾸고 싶어여 ㅠㅠ", expand=False) == "비밀번호 바꾸고 싶어요"


def test_topic_words_leave_a_questions_frame_out():
    from sodam.nlp.text import asked_words, topic_words

    assert topic_words("How long does it take to get a reset link?") == ["reset", "link"]
    assert topic_words("Can I get my money back?") == ["money", "back"]
    assert topic_words("how do I do it") == []
    assert topic_words("Where's my parcel? I can't find the order's number") == [
        "parcel",
        "find",
        "order",
        "number",
    ]
    # Korean: the decision's own asked words
    assert topic_words("제 강의도 올려서 팔 수 있나요") == asked_words("제 강의도 올려서 팔 수 있나요")


def test_customer_query_spells_out_english_chat_words_and_adds_help_center_words():
    from sodam.nlp.text import customer_query

    # chat spellings are replaced, whole words only ("sub", "rn" inside words stay)
    assert customer_query("pls help, cant get into my acct rn") == (
        "please help, can't get into my account right now login"
    )
    assert customer_query("wat is ur policy on subs") == "what is your policy on subs"
    assert customer_query("burnt the urn") == "burnt the urn"
    # the lexicon's words come after the question, never instead of it, and only once
    assert customer_query("i want my money back") == "i want my money back refund"
    assert customer_query("my money back, i want a refund") == "my money back, i want a refund"
    assert customer_query("moving next week, new apartment") == "moving next week, new apartment address"
    assert customer_query("got someone elses towels, not what i ordered") == (
        "got someone elses towels, not what i ordered wrong item"
    )
    # without expand: what was asked, spelled out, no added words — the expanded one's first words
    asked = customer_query("the lamp is broken pls", expand=False)
    assert asked == "the lamp is broken please"
    assert customer_query("the lamp is broken pls").startswith(asked + " ")
    # unrelated English questions get nothing added
    assert customer_query("how do i change a flat tire") == "how do i change a flat tire"
    assert customer_query("moving to another app") == "moving to another app"
